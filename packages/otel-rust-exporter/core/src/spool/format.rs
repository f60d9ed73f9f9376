//! One spooled request as a file: a fixed header (magic, format version, kind, flags, item
//! count, uncompressed size, body length, CRC-32 of header and body), then the body as it
//! goes on the wire.

use super::Kind;

const MAGIC: &[u8; 8] = b"OTRSPOOL";
pub const VERSION: u8 = 1;
pub const HEADER_LEN: usize = 36;

/// A request as the spool keeps it: the encoded (and compressed) body plus what sending it
/// again needs. Never a secret: signatures and headers are made at send time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    pub kind: Kind,
    /// The body is gzip-compressed (OTLP over HTTP with `compression=gzip`).
    pub gzipped: bool,
    /// Items (spans, log records, data points) in the request, for the counters.
    pub items: u32,
    /// The encoded size before compression (SLS sends it as `x-log-bodyrawsize`).
    pub raw_len: u64,
    pub body: Vec<u8>,
}

/// Why a file is not a request we can send.
#[derive(Debug, PartialEq, Eq)]
pub enum Corrupt {
    Truncated,
    NotASpoolFile,
    UnknownVersion(u8),
    WrongKind,
    LengthMismatch,
    Checksum,
}

impl std::fmt::Display for Corrupt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Corrupt::Truncated => f.write_str("shorter than its header"),
            Corrupt::NotASpoolFile => f.write_str("not a spool file"),
            Corrupt::UnknownVersion(version) => write!(f, "unknown format version {version}"),
            Corrupt::WrongKind => f.write_str("its header names another signal than its name"),
            Corrupt::LengthMismatch => f.write_str("truncated or extended after it was written"),
            Corrupt::Checksum => f.write_str("checksum mismatch"),
        }
    }
}

impl Request {
    /// The whole file.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut file = Vec::with_capacity(HEADER_LEN + self.body.len());
        file.extend_from_slice(MAGIC);
        file.push(VERSION);
        file.push(self.kind.code());
        file.push(u8::from(self.gzipped));
        file.push(0);
        file.extend_from_slice(&self.items.to_le_bytes());
        file.extend_from_slice(&self.raw_len.to_le_bytes());
        file.extend_from_slice(&(self.body.len() as u64).to_le_bytes());
        let crc = checksum(&file, &self.body);
        file.extend_from_slice(&crc.to_le_bytes());
        file.extend_from_slice(&self.body);
        file
    }

    /// Reads a file written by [`Request::to_bytes`], which its name says holds `kind`.
    pub fn from_bytes(kind: Kind, mut file: Vec<u8>) -> Result<Self, Corrupt> {
        if file.len() < HEADER_LEN {
            return Err(Corrupt::Truncated);
        }
        if &file[..8] != MAGIC {
            return Err(Corrupt::NotASpoolFile);
        }
        if file[8] != VERSION {
            return Err(Corrupt::UnknownVersion(file[8]));
        }
        if file[9] != kind.code() {
            return Err(Corrupt::WrongKind);
        }
        let word = |at: usize| u32::from_le_bytes(file[at..at + 4].try_into().unwrap());
        let long = |at: usize| u64::from_le_bytes(file[at..at + 8].try_into().unwrap());
        let (items, raw_len, body_len, crc) = (word(12), long(16), long(24), word(32));
        if body_len != (file.len() - HEADER_LEN) as u64 {
            return Err(Corrupt::LengthMismatch);
        }
        if checksum(&file[..32], &file[HEADER_LEN..]) != crc {
            return Err(Corrupt::Checksum);
        }
        let gzipped = file[10] & 1 == 1;
        let body = file.split_off(HEADER_LEN);
        Ok(Self {
            kind,
            gzipped,
            items,
            raw_len,
            body,
        })
    }
}

/// The item count of a file's header, if it has one (for counting what eviction drops).
pub fn items_in_header(header: &[u8]) -> Option<u32> {
    (header.len() >= HEADER_LEN && &header[..8] == MAGIC)
        .then(|| u32::from_le_bytes(header[12..16].try_into().unwrap()))
}

fn checksum(header: &[u8], body: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(header);
    hasher.update(body);
    hasher.finalize()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> Request {
        Request {
            kind: Kind::Traces,
            gzipped: true,
            items: 512,
            raw_len: 9000,
            body: b"compressed bytes".to_vec(),
        }
    }

    #[test]
    fn a_request_survives_the_round_trip() {
        let file = request().to_bytes();
        assert_eq!(file.len(), HEADER_LEN + 16);
        assert_eq!(items_in_header(&file[..HEADER_LEN]), Some(512));
        assert_eq!(Request::from_bytes(Kind::Traces, file), Ok(request()));
    }

    #[test]
    fn torn_flipped_and_foreign_files_are_refused() {
        let file = request().to_bytes();
        assert_eq!(
            Request::from_bytes(Kind::Traces, file[..20].to_vec()),
            Err(Corrupt::Truncated)
        );
        assert_eq!(
            Request::from_bytes(Kind::Traces, file[..file.len() - 1].to_vec()),
            Err(Corrupt::LengthMismatch)
        );
        let mut flipped = file.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert_eq!(
            Request::from_bytes(Kind::Traces, flipped),
            Err(Corrupt::Checksum)
        );
        let mut count_changed = file.clone();
        count_changed[12] ^= 1;
        assert_eq!(
            Request::from_bytes(Kind::Traces, count_changed),
            Err(Corrupt::Checksum)
        );
        assert_eq!(
            Request::from_bytes(Kind::Logs, file.clone()),
            Err(Corrupt::WrongKind)
        );
        let mut newer = file;
        newer[8] = 2;
        assert_eq!(
            Request::from_bytes(Kind::Traces, newer),
            Err(Corrupt::UnknownVersion(2))
        );
        assert_eq!(
            Request::from_bytes(Kind::Traces, vec![0; 64]),
            Err(Corrupt::NotASpoolFile)
        );
    }
}
