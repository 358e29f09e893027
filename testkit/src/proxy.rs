//! A TCP proxy whose link can be cut and restored, for network faults
//! between an agent and its collector. A cut behaves like a network that
//! stops carrying packets: open connections stall (nothing is closed, no
//! FIN or RST reaches either end) and new ones are accepted but not
//! connected onward; a restore lets both carry on, as TCP does once the
//! network is back.

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

pub struct Proxy {
    pub addr: SocketAddr,
    open: watch::Sender<bool>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Proxy {
    /// Listens on a free loopback port and forwards to `upstream`.
    pub fn start(upstream: SocketAddr) -> Proxy {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let listener = runtime.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
        let addr = listener.local_addr().unwrap();
        let (open, link) = watch::channel(true);
        runtime.spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(forward(client, upstream, link.clone()));
            }
        });
        Proxy {
            addr,
            open,
            runtime: Some(runtime),
        }
    }

    /// Stops carrying bytes, on open connections and new ones.
    pub fn cut(&self) {
        self.open.send_replace(false);
    }

    pub fn restore(&self) {
        self.open.send_replace(true);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if let Some(r) = self.runtime.take() {
            r.shutdown_background();
        }
    }
}

async fn forward(client: TcpStream, upstream: SocketAddr, mut link: watch::Receiver<bool>) {
    if link.wait_for(|open| *open).await.is_err() {
        return;
    }
    let Ok(server) = TcpStream::connect(upstream).await else {
        return;
    };
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    tokio::join!(
        pump(client_read, server_write, link.clone()),
        pump(server_read, client_write, link),
    );
}

/// Copies one direction while the link is open; closes the other side's
/// write half when this side ends.
async fn pump(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, mut link: watch::Receiver<bool>) {
    let mut buf = vec![0u8; 64 << 10];
    loop {
        if link.wait_for(|open| *open).await.is_err() {
            return;
        }
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        // Bytes read just before a cut wait for the restore, as packets in
        // flight would be retransmitted.
        if link.wait_for(|open| *open).await.is_err() {
            return;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
    let _ = to.shutdown().await;
}
