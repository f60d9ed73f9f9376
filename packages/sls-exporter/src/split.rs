//! Packing logs into LogGroups that SLS accepts in one PutLogs request.

use prost::encoding::encoded_len_varint;
use prost::Message;

use crate::proto::{Log, LogGroup, LogTag};

/// Per-request bounds. SLS refuses more than 4096 logs or 5 MB (raw) in one LogGroup;
/// the official producers cut batches at 4096 logs and a few MB.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub max_logs: usize,
    pub max_bytes: usize,
}

pub const SLS_LIMITS: Limits = Limits {
    max_logs: 4096,
    max_bytes: 3 * 1024 * 1024,
};

/// The groups to send, and how many logs were too big for any group on their own.
#[derive(Debug, Default)]
pub struct Packed {
    pub groups: Vec<LogGroup>,
    pub oversized: usize,
}

/// Packs `logs` (all sharing `tags`) in order into as few groups as the limits allow.
pub fn pack(
    logs: Vec<Log>,
    tags: &[LogTag],
    topic: Option<&str>,
    source: Option<&str>,
    limits: Limits,
) -> Packed {
    let empty = LogGroup {
        logs: Vec::new(),
        topic: topic.map(str::to_owned),
        source: source.map(str::to_owned),
        log_tags: tags.to_vec(),
    };
    let overhead = empty.encoded_len();
    let mut packed = Packed::default();
    let mut current = empty.clone();
    let mut current_bytes = overhead;
    for log in logs {
        let length = log.encoded_len();
        // Field 1 key byte + length prefix + the message.
        let cost = 1 + encoded_len_varint(length as u64) + length;
        if overhead + cost > limits.max_bytes {
            packed.oversized += 1;
            continue;
        }
        if current.logs.len() >= limits.max_logs || current_bytes + cost > limits.max_bytes {
            packed
                .groups
                .push(std::mem::replace(&mut current, empty.clone()));
            current_bytes = overhead;
        }
        current.logs.push(log);
        current_bytes += cost;
    }
    if !current.logs.is_empty() {
        packed.groups.push(current);
    }
    packed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::Content;

    fn log(value_len: usize) -> Log {
        Log {
            time: 1,
            contents: vec![Content {
                key: "content".into(),
                value: "x".repeat(value_len),
            }],
            time_ns: Some(0),
        }
    }

    #[test]
    fn splits_by_count_and_keeps_order() {
        let logs: Vec<Log> = (0..10).map(log).collect();
        let limits = Limits {
            max_logs: 4,
            max_bytes: 1 << 20,
        };
        let packed = pack(logs.clone(), &[], Some("t"), None, limits);
        let sizes: Vec<usize> = packed.groups.iter().map(|g| g.logs.len()).collect();
        assert_eq!(sizes, vec![4, 4, 2]);
        let flat: Vec<Log> = packed.groups.into_iter().flat_map(|g| g.logs).collect();
        assert_eq!(flat, logs);
    }

    #[test]
    fn every_group_stays_within_the_byte_limit_and_oversized_logs_are_counted() {
        let tags = vec![LogTag {
            key: "service.name".into(),
            value: "svc".into(),
        }];
        let limits = Limits {
            max_logs: 4096,
            max_bytes: 1000,
        };
        let mut logs: Vec<Log> = (0..50).map(|i| log(10 + i * 3)).collect();
        logs.insert(7, log(5000));
        let packed = pack(logs, &tags, Some("topic"), Some("10.0.0.1"), limits);
        assert_eq!(packed.oversized, 1);
        assert_eq!(
            packed.groups.iter().map(|g| g.logs.len()).sum::<usize>(),
            50
        );
        assert!(packed.groups.len() > 1);
        for group in &packed.groups {
            assert!(group.encoded_len() <= 1000, "{}", group.encoded_len());
            assert_eq!(group.log_tags, tags);
            assert_eq!(group.source.as_deref(), Some("10.0.0.1"));
        }
    }

    #[test]
    fn the_sls_defaults_allow_4096_logs() {
        let packed = pack(
            (0..5000).map(|_| log(1)).collect(),
            &[],
            None,
            None,
            SLS_LIMITS,
        );
        let sizes: Vec<usize> = packed.groups.iter().map(|g| g.logs.len()).collect();
        assert_eq!(sizes, vec![4096, 904]);
    }
}
