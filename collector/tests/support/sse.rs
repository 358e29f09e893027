//! A minimal Server-Sent Events reader over a streaming HTTP response.

use std::time::Duration;

pub struct SseEvent {
    pub id: Option<i64>,
    /// The `event:` name; `None` for plain status events.
    pub event: Option<String>,
    pub data: serde_json::Value,
}

pub struct SseReader {
    response: reqwest::Response,
    buffer: String,
    pub comments: usize,
}

impl SseReader {
    pub async fn connect(
        client: &reqwest::Client,
        url: &str,
        last_event_id: Option<i64>,
    ) -> SseReader {
        let mut request = client.get(url).timeout(Duration::from_secs(3600));
        if let Some(id) = last_event_id {
            request = request.header("Last-Event-ID", id.to_string());
        }
        let response = request.send().await.expect("sse connect");
        assert_eq!(response.status(), 200);
        let ct = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(ct.starts_with("text/event-stream"), "{ct}");
        SseReader {
            response,
            buffer: String::new(),
            comments: 0,
        }
    }

    /// The next event, or `None` if none arrives within `timeout`.
    pub async fn next(&mut self, timeout: Duration) -> Option<SseEvent> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut id = None;
                let mut event = None;
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("id:") {
                        id = v.trim().parse().ok();
                    } else if let Some(v) = line.strip_prefix("event:") {
                        event = Some(v.trim().to_string());
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim_start());
                    } else if line.starts_with(':') {
                        self.comments += 1;
                    }
                }
                if data.is_empty() {
                    continue;
                }
                return Some(SseEvent {
                    id,
                    event,
                    data: serde_json::from_str(&data).expect("event json"),
                });
            }
            let chunk = tokio::time::timeout_at(deadline, self.response.chunk())
                .await
                .ok()?;
            match chunk.expect("sse read") {
                Some(bytes) => self.buffer.push_str(&String::from_utf8_lossy(&bytes)),
                None => return None,
            }
        }
    }
}
