//! The store suite, part six: Web Push subscriptions and the VAPID key, on
//! every store (see `conformance.rs`).

mod support;

use lightbulb_collector::push::{self, PushKeys, PushSubscription, StoredKey};
use lightbulb_collector::store::Store;

conformance!(
    subscriptions_are_kept_changed_and_deleted_per_id,
    the_vapid_key_is_made_once_and_the_oldest_wins,
);

fn subscription(endpoint: &str, owner: &str) -> PushSubscription {
    PushSubscription {
        subscription_id: push::id_for(endpoint),
        owner: owner.into(),
        endpoint: endpoint.into(),
        keys: PushKeys {
            p256dh: "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4".into(),
            auth: "BTBZMqHH6r4Tts7J_aSIgg".into(),
        },
        services: vec!["db".into(), "payments".into()],
        label: "laptop".into(),
        created_ms: 1_000,
        updated_ms: 1_000,
    }
}

async fn subscriptions_are_kept_changed_and_deleted_per_id(store: &dyn Store) {
    let a = subscription("https://push.example.net/a", "user:alice");
    let b = subscription("https://push.example.net/b", "user:bob");
    store.put_push_subscription(a.clone()).await.unwrap();
    store.put_push_subscription(b.clone()).await.unwrap();
    let mut both = vec![a.clone(), b.clone()];
    both.sort_by(|x, y| x.subscription_id.cmp(&y.subscription_id));
    assert_eq!(
        store.push_subscriptions().await.unwrap(),
        both,
        "whole, by id"
    );

    let mut changed = a.clone();
    changed.services.clear();
    changed.owner = "user:carol".into();
    changed.updated_ms = 2_000;
    store.put_push_subscription(changed.clone()).await.unwrap();
    let now = store.push_subscriptions().await.unwrap();
    assert_eq!(now.len(), 2);
    assert!(now.contains(&changed) && now.contains(&b), "the newer wins");

    store
        .delete_push_subscription(a.subscription_id.clone())
        .await
        .unwrap();
    assert_eq!(
        store.push_subscriptions().await.unwrap(),
        std::slice::from_ref(&b)
    );
    store
        .delete_push_subscription(b.subscription_id)
        .await
        .unwrap();
    assert!(store.push_subscriptions().await.unwrap().is_empty());
}

async fn the_vapid_key_is_made_once_and_the_oldest_wins(store: &dyn Store) {
    assert!(store.vapid_keys().await.unwrap().is_empty());
    let first = push::vapid_key(store).await.unwrap();
    assert_eq!(
        push::vapid_key(store).await.unwrap(),
        first,
        "kept, not made again"
    );
    assert_eq!(
        store.vapid_keys().await.unwrap(),
        std::slice::from_ref(&first)
    );
    // Another collector's key made later loses; one made earlier wins.
    let later = StoredKey {
        pkcs8: "later".into(),
        created_ms: first.created_ms + 1,
    };
    store.add_vapid_key(later).await.unwrap();
    assert_eq!(push::vapid_key(store).await.unwrap(), first);
    let earlier = StoredKey {
        pkcs8: "earlier".into(),
        created_ms: first.created_ms - 1,
    };
    store.add_vapid_key(earlier.clone()).await.unwrap();
    assert_eq!(push::vapid_key(store).await.unwrap(), earlier);
    assert_eq!(store.vapid_keys().await.unwrap().len(), 3);
}
