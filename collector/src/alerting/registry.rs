//! The rules and channels in force: read from the store at start (and again
//! now and then, for collectors sharing a store), changed through the API
//! (stored first, then taken up here).

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use std::collections::HashMap;

use super::model::Verdict;
use super::model::{Channel, Handling, Rule};
use super::outbox::Outbox;
use super::silence::Silence;
use super::store::{AlertStore, Doc, DocKind, load};
use crate::Result;

pub struct Alerting {
    pub store: Arc<dyn AlertStore>,
    rules: RwLock<BTreeMap<String, Rule>>,
    channels: RwLock<BTreeMap<String, Channel>>,
    /// What people did with alerts, by alert id.
    handling: RwLock<HashMap<String, Handling>>,
    silences: RwLock<BTreeMap<String, Silence>>,
    /// Metric verdicts as stored (by whichever collector judged them).
    verdicts: RwLock<HashMap<(String, String), Verdict>>,
    pub outbox: Outbox,
}

impl Alerting {
    pub async fn load(store: Arc<dyn AlertStore>) -> Result<Alerting> {
        let alerting = Alerting {
            outbox: Outbox::new(store.clone()),
            store,
            rules: RwLock::default(),
            channels: RwLock::default(),
            handling: RwLock::default(),
            silences: RwLock::default(),
            verdicts: RwLock::default(),
        };
        alerting.reload().await?;
        Ok(alerting)
    }

    /// Reads rules and channels again (another collector may have changed them).
    pub async fn reload(&self) -> Result<()> {
        let rules: Vec<Rule> = load(self.store.as_ref(), DocKind::Rule).await?;
        let channels: Vec<Channel> = load(self.store.as_ref(), DocKind::Channel).await?;
        let handling: Vec<Handling> = load(self.store.as_ref(), DocKind::Handling).await?;
        let silences: Vec<Silence> = load(self.store.as_ref(), DocKind::Silence).await?;
        let verdicts: Vec<Verdict> = load(self.store.as_ref(), DocKind::Verdict).await?;
        *self.verdicts.write().unwrap_or_else(|e| e.into_inner()) = verdicts
            .into_iter()
            .map(|v| ((v.rule_id.clone(), v.service_id.clone()), v))
            .collect();
        *self.silences.write().unwrap_or_else(|e| e.into_inner()) = silences
            .into_iter()
            .map(|s| (s.silence_id.clone(), s))
            .collect();
        *self.handling.write().unwrap_or_else(|e| e.into_inner()) = handling
            .into_iter()
            .map(|h| (h.alert_id.clone(), h))
            .collect();
        *self.rules.write().unwrap_or_else(|e| e.into_inner()) =
            rules.into_iter().map(|r| (r.rule_id.clone(), r)).collect();
        *self.channels.write().unwrap_or_else(|e| e.into_inner()) = channels
            .into_iter()
            .map(|c| (c.channel_id.clone(), c))
            .collect();
        Ok(())
    }

    /// The stored verdicts with `own` (judged here) over them where newer.
    pub fn verdicts(
        &self,
        own: HashMap<(String, String), Verdict>,
    ) -> HashMap<(String, String), Verdict> {
        let mut all = self
            .verdicts
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        for (k, v) in own {
            if all.get(&k).is_none_or(|old| old.at_ms <= v.at_ms) {
                all.insert(k, v);
            }
        }
        all
    }

    pub fn rules(&self) -> Vec<Rule> {
        self.rules
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect()
    }

    pub fn rule(&self, id: &str) -> Option<Rule> {
        self.rules
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .cloned()
    }

    pub fn channels(&self) -> Vec<Channel> {
        self.channels
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect()
    }

    pub fn channel(&self, id: &str) -> Option<Channel> {
        self.channels
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .cloned()
    }

    pub fn silences(&self) -> Vec<Silence> {
        self.silences
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect()
    }

    pub fn silence(&self, id: &str) -> Option<Silence> {
        self.silences
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .cloned()
    }

    pub async fn put_silence(&self, s: Silence) -> Result<()> {
        self.store
            .put_alert_docs(vec![Doc::of(DocKind::Silence, &s.silence_id, &s)])
            .await?;
        self.silences
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(s.silence_id.clone(), s);
        Ok(())
    }

    pub async fn delete_silence(&self, id: &str) -> Result<()> {
        self.store
            .put_alert_docs(vec![Doc::deleted(DocKind::Silence, id)])
            .await?;
        self.silences
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id);
        Ok(())
    }

    pub fn handling(&self) -> HashMap<String, Handling> {
        self.handling
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Stores what someone did with an alert, for the evaluator's next round.
    pub async fn put_handling(&self, h: Handling) -> Result<()> {
        self.store
            .put_alert_docs(vec![Doc::of(DocKind::Handling, &h.alert_id, &h)])
            .await?;
        self.handling
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(h.alert_id.clone(), h);
        Ok(())
    }

    /// Stores `rule` (replacing the one with its id) and puts it in force.
    pub async fn put_rule(&self, rule: Rule) -> Result<()> {
        self.store
            .put_alert_docs(vec![Doc::of(DocKind::Rule, &rule.rule_id, &rule)])
            .await?;
        self.rules
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(rule.rule_id.clone(), rule);
        Ok(())
    }

    pub async fn delete_rule(&self, id: &str) -> Result<()> {
        self.store
            .put_alert_docs(vec![Doc::deleted(DocKind::Rule, id)])
            .await?;
        self.rules
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id);
        Ok(())
    }

    pub async fn put_channel(&self, channel: Channel) -> Result<()> {
        self.store
            .put_alert_docs(vec![Doc::of(
                DocKind::Channel,
                &channel.channel_id,
                &channel,
            )])
            .await?;
        self.channels
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(channel.channel_id.clone(), channel);
        Ok(())
    }

    pub async fn delete_channel(&self, id: &str) -> Result<()> {
        self.store
            .put_alert_docs(vec![Doc::deleted(DocKind::Channel, id)])
            .await?;
        self.channels
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id);
        Ok(())
    }
}
