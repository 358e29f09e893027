//! Segment files: append-only sequences of frames
//! `[payload length: u32 BE][CRC-32 of payload: u32 BE][payload]`.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use lightbulb_proto::v1;
use prost::Message;

pub const HEADER: u64 = 8;
/// Longer frames are taken for a torn or damaged length, never allocated.
const MAX_PAYLOAD: u32 = 64 << 20;

pub fn file_name(dir: &Path, first_seq: u64) -> PathBuf {
    dir.join(format!("{first_seq:020}.seg"))
}

/// The first seq a segment file name stands for.
pub fn parse_name(name: &str) -> Option<u64> {
    name.strip_suffix(".seg")?.parse().ok()
}

/// A frame ready to write.
pub fn encode(r: &v1::CheckResult) -> Vec<u8> {
    let payload = r.encode_to_vec();
    let mut frame = Vec::with_capacity(payload.len() + HEADER as usize);
    frame.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    frame.extend_from_slice(&crc32fast::hash(&payload).to_be_bytes());
    frame.extend_from_slice(&payload);
    frame
}

/// One frame read back: the record, or `None` when the framing is intact
/// but the payload does not check out (skip it).
pub type Frame = Option<v1::CheckResult>;

/// What ended a scan of a segment.
#[derive(Debug, PartialEq, Eq)]
pub enum End {
    /// The file ends after a whole frame.
    Clean,
    /// A frame is cut short or its length cannot be right: nothing after
    /// `offset` can be read (a torn write at the tail, or damage).
    Torn,
}

/// Reads frames from `offset` on.
pub struct Reader {
    inner: BufReader<File>,
    pub offset: u64,
    pub end: Option<End>,
}

impl Reader {
    pub fn open(path: &Path, offset: u64) -> std::io::Result<Reader> {
        let mut file = File::open(path)?;
        file.seek(SeekFrom::Start(offset))?;
        Ok(Reader {
            inner: BufReader::with_capacity(256 << 10, file),
            offset,
            end: None,
        })
    }

    /// The next frame with its length on disk; `None` at the end (see `end`).
    pub fn next_frame(&mut self) -> std::io::Result<Option<(Frame, u64)>> {
        if self.end.is_some() {
            return Ok(None);
        }
        let mut header = [0u8; HEADER as usize];
        match read_full(&mut self.inner, &mut header)? {
            0 => {
                self.end = Some(End::Clean);
                return Ok(None);
            }
            n if n < header.len() => {
                self.end = Some(End::Torn);
                return Ok(None);
            }
            _ => {}
        }
        let len = u32::from_be_bytes(header[..4].try_into().expect("4 bytes"));
        let crc = u32::from_be_bytes(header[4..].try_into().expect("4 bytes"));
        if len > MAX_PAYLOAD {
            self.end = Some(End::Torn);
            return Ok(None);
        }
        let mut payload = vec![0u8; len as usize];
        if read_full(&mut self.inner, &mut payload)? < payload.len() {
            self.end = Some(End::Torn);
            return Ok(None);
        }
        let size = HEADER + u64::from(len);
        self.offset += size;
        let frame = if crc32fast::hash(&payload) == crc {
            v1::CheckResult::decode(payload.as_slice()).ok()
        } else {
            None
        };
        Ok(Some((frame, size)))
    }
}

fn read_full(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut done = 0;
    while done < buf.len() {
        match r.read(&mut buf[done..]) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}
