//! ICMP echo (`ping://host`). An unprivileged datagram ICMP socket is used
//! where `net.ipv4.ping_group_range` admits the agent's group; otherwise a
//! raw socket where the agent holds CAP_NET_RAW; otherwise the check is
//! FAILED with what to change.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use lightbulb_common::Status;
use rustix::net::{AddressFamily, SocketFlags, SocketType, ipproto};
use tokio::net::UdpSocket;

use super::{BoxFuture, Check, Outcome};
pub use lightbulb_common::spec::PingSpec;

/// Time between echo requests of one run.
const GAP: Duration = Duration::from_millis(100);
/// How long a reply is waited for after the last request.
const WAIT: Duration = Duration::from_secs(1);
const TOKEN_LEN: usize = 8;

pub struct PingCheck {
    spec: PingSpec,
}

impl PingCheck {
    pub fn new(spec: PingSpec) -> PingCheck {
        PingCheck { spec }
    }

    async fn probe(&self) -> Outcome {
        let host = &self.spec.host;
        let ip = match resolve(host).await {
            Ok(ip) => ip,
            Err(e) => return Outcome::failed(format!("ping {host}: cannot resolve: {e}")),
        };
        let socket = match Icmp::open(ip) {
            Ok(s) => s,
            Err(why) => return Outcome::failed(format!("ping {host}: {why}")),
        };
        let run = socket.echo(ip, self.spec.count).await;
        judge(&self.spec, ip, socket.kind(), run)
    }
}

impl Check for PingCheck {
    fn run(&mut self) -> BoxFuture<'_, Outcome> {
        Box::pin(self.probe())
    }
}

async fn resolve(host: &str) -> std::io::Result<IpAddr> {
    if let Ok(ip) = host.parse() {
        return Ok(ip);
    }
    let mut addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, 0)).await?.collect();
    addrs.sort_by_key(|a| a.is_ipv6());
    addrs
        .first()
        .map(|a| a.ip())
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "no address for the name"))
}

/// What one run of echo requests found.
#[derive(Debug, Default)]
struct Run {
    rtts_ms: Vec<Option<f64>>,
    /// Why a request could not be sent (the last such error).
    send_error: Option<String>,
}

struct Icmp {
    socket: UdpSocket,
    raw: bool,
    v6: bool,
}

impl Icmp {
    fn open(ip: IpAddr) -> Result<Icmp, String> {
        let v6 = ip.is_ipv6();
        let (family, proto) = if v6 {
            (AddressFamily::INET6, ipproto::ICMPV6)
        } else {
            (AddressFamily::INET, ipproto::ICMP)
        };
        let flags = SocketFlags::NONBLOCK | SocketFlags::CLOEXEC;
        let open = |kind| rustix::net::socket_with(family, kind, flags, Some(proto));
        let (fd, raw) = match open(SocketType::DGRAM) {
            Ok(fd) => (fd, false),
            Err(dgram) => match open(SocketType::RAW) {
                Ok(fd) => (fd, true),
                Err(_) => return Err(not_permitted(dgram)),
            },
        };
        let socket = UdpSocket::from_std(std::net::UdpSocket::from(fd))
            .map_err(|e| format!("cannot use the ICMP socket: {e}"))?;
        Ok(Icmp { socket, raw, v6 })
    }

    fn kind(&self) -> &'static str {
        if self.raw { "raw" } else { "datagram" }
    }

    async fn echo(&self, ip: IpAddr, count: u32) -> Run {
        let ident = fastrand::u16(..);
        let token = fastrand::u64(..).to_be_bytes();
        let count = count as usize;
        let mut run = Run {
            rtts_ms: vec![None; count],
            send_error: None,
        };
        let mut sent_at: Vec<Option<Instant>> = vec![None; count];
        let mut next = tokio::time::Instant::now();
        let mut buf = [0u8; 2048];
        let mut seq = 0;
        loop {
            let answered = run.rtts_ms.iter().flatten().count();
            let unanswerable = sent_at.iter().filter(|s| s.is_none()).count();
            if seq == count && answered + unanswerable == count {
                break;
            }
            let wake = if seq < count { next } else { next - GAP + WAIT };
            tokio::select! {
                _ = tokio::time::sleep_until(wake) => {
                    if seq == count {
                        break;
                    }
                    let packet = request(self.v6, ident, seq as u16, &token);
                    match self.socket.send_to(&packet, SocketAddr::new(ip, 0)).await {
                        Ok(_) => sent_at[seq] = Some(Instant::now()),
                        Err(e) => run.send_error = Some(e.to_string()),
                    }
                    seq += 1;
                    next += GAP;
                }
                got = self.socket.recv_from(&mut buf) => {
                    let Ok((n, from)) = got else { continue };
                    let Some(i) = self.reply(&buf[..n], from.ip(), ip, ident, &token) else {
                        continue;
                    };
                    if let (Some(at), None) = (sent_at.get(i).copied().flatten(), run.rtts_ms[i]) {
                        run.rtts_ms[i] = Some(at.elapsed().as_secs_f64() * 1e3);
                    }
                }
            }
        }
        run
    }

    /// The sequence number of an echo reply to this run, if `packet` is one.
    fn reply(
        &self,
        packet: &[u8],
        from: IpAddr,
        to: IpAddr,
        ident: u16,
        token: &[u8; TOKEN_LEN],
    ) -> Option<usize> {
        let icmp = if self.raw && !self.v6 {
            packet.get(usize::from(packet.first()? & 0x0f) * 4..)?
        } else {
            packet
        };
        let reply_type = if self.v6 { 129 } else { 0 };
        if icmp.len() < 8 + TOKEN_LEN || icmp[0] != reply_type || icmp[8..8 + TOKEN_LEN] != *token {
            return None;
        }
        // A datagram socket's identifier is set by the kernel, which also
        // hands it only its own replies.
        if self.raw && (from != to || u16::from_be_bytes([icmp[4], icmp[5]]) != ident) {
            return None;
        }
        Some(usize::from(u16::from_be_bytes([icmp[6], icmp[7]])))
    }
}

/// An echo request with the run's token as payload.
fn request(v6: bool, ident: u16, seq: u16, token: &[u8; TOKEN_LEN]) -> Vec<u8> {
    let mut p = vec![if v6 { 128 } else { 8 }, 0, 0, 0];
    p.extend_from_slice(&ident.to_be_bytes());
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(token);
    if !v6 {
        // ICMPv6 checksums cover the IP addresses; the kernel fills them in.
        let sum = checksum(&p);
        p[2..4].copy_from_slice(&sum.to_be_bytes());
    }
    p
}

/// The Internet checksum (RFC 1071).
fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = data
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Why no ICMP socket could be opened, and what would allow one.
fn not_permitted(e: rustix::io::Errno) -> String {
    let range = std::fs::read_to_string("/proc/sys/net/ipv4/ping_group_range")
        .map(|r| r.split_whitespace().collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into());
    let gid = rustix::process::getgid().as_raw();
    format!(
        "cannot open an ICMP socket ({e}): net.ipv4.ping_group_range is `{range}`, \
         which does not include the agent's group {gid}, and the agent lacks CAP_NET_RAW; \
         allow it with `sysctl net.ipv4.ping_group_range=\"0 2147483647\"` \
         or grant CAP_NET_RAW (AmbientCapabilities=CAP_NET_RAW)"
    )
}

fn judge(spec: &PingSpec, ip: IpAddr, socket: &str, run: Run) -> Outcome {
    let sent = run.rtts_ms.len();
    let rtts: Vec<f64> = run.rtts_ms.iter().flatten().copied().collect();
    let lost = sent - rtts.len();
    let loss = lost as f64 * 100.0 / sent as f64;
    let target = if spec.host == ip.to_string() {
        spec.host.clone()
    } else {
        format!("{} ({ip})", spec.host)
    };
    let mut o = Outcome::new(Status::Ok, String::new());
    o.metrics.extra.insert("packet_loss".into(), loss);
    o.details = serde_json::json!({
        "address": ip.to_string(),
        "socket": socket,
        "sent": sent,
        "received": rtts.len(),
        "rtts_ms": run.rtts_ms,
    });
    if rtts.is_empty() {
        o.status = Status::Failed;
        o.message = match run.send_error {
            Some(e) => format!("ping {target}: cannot send: {e}"),
            None => format!("ping {target}: no reply to {sent} echo requests"),
        };
        return o;
    }
    let min = rtts.iter().copied().fold(f64::INFINITY, f64::min);
    let max = rtts.iter().copied().fold(0.0, f64::max);
    let avg = rtts.iter().sum::<f64>() / rtts.len() as f64;
    for (name, v) in [
        ("rtt_min_ms", min),
        ("rtt_avg_ms", avg),
        ("rtt_max_ms", max),
    ] {
        o.metrics.extra.insert(name.into(), v);
    }
    o.metrics.response_time_ms = Some(avg);
    let summary = format!(
        "{}/{sent} replies ({loss:.0}% loss), rtt min/avg/max {min:.2}/{avg:.2}/{max:.2} ms",
        rtts.len()
    );
    let mut reasons = Vec::new();
    if lost > 0 && loss > spec.loss_degraded_percent {
        reasons.push(format!(
            "loss {loss:.0}% is above {}%",
            spec.loss_degraded_percent
        ));
    }
    if let Some(limit) = spec.degraded_ms.filter(|l| avg > *l as f64) {
        reasons.push(format!("rtt avg {avg:.2} ms is above {limit} ms"));
    }
    if !reasons.is_empty() {
        o.status = Status::Degraded;
    }
    o.message = if reasons.is_empty() {
        format!("ping {target}: {summary}")
    } else {
        format!("ping {target}: {}; {summary}", reasons.join(", "))
    };
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> PingSpec {
        PingSpec {
            host: "db.internal".into(),
            count: 4,
            degraded_ms: Some(50),
            loss_degraded_percent: 25.0,
        }
    }

    fn run(rtts: &[Option<f64>]) -> Run {
        Run {
            rtts_ms: rtts.to_vec(),
            send_error: None,
        }
    }

    #[test]
    fn loss_and_rtt_decide_the_status() {
        let ip: IpAddr = "10.0.0.5".parse().unwrap();
        let ok = judge(
            &spec(),
            ip,
            "raw",
            run(&[Some(1.0), Some(3.0), None, Some(2.0)]),
        );
        assert_eq!(ok.status, Status::Ok, "{}", ok.message);
        assert_eq!(ok.metrics.extra["packet_loss"], 25.0);
        assert_eq!(ok.metrics.extra["rtt_min_ms"], 1.0);
        assert_eq!(ok.metrics.extra["rtt_max_ms"], 3.0);
        assert_eq!(ok.metrics.response_time_ms, Some(2.0));
        assert!(ok.message.starts_with("ping db.internal (10.0.0.5): 3/4"));

        let lossy = judge(&spec(), ip, "raw", run(&[Some(1.0), None, None, Some(2.0)]));
        assert_eq!(lossy.status, Status::Degraded);
        assert!(
            lossy.message.contains("loss 50% is above 25%"),
            "{}",
            lossy.message
        );

        let slow = judge(&spec(), ip, "raw", run(&[Some(80.0); 4]));
        assert_eq!(slow.status, Status::Degraded);
        assert!(slow.message.contains("rtt avg 80.00 ms is above 50 ms"));

        let dead = judge(&spec(), ip, "raw", run(&[None; 4]));
        assert_eq!(dead.status, Status::Failed);
        assert_eq!(dead.metrics.extra["packet_loss"], 100.0);
        assert!(dead.message.contains("no reply to 4 echo requests"));
    }

    #[test]
    fn requests_carry_a_valid_checksum() {
        let p = request(false, 0x1234, 7, b"abcdefgh");
        assert_eq!(checksum(&p), 0, "a packet with its checksum sums to zero");
        assert_eq!(&p[4..8], &[0x12, 0x34, 0, 7]);
    }
}
