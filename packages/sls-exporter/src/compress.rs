//! The PutLogs body: a raw LZ4 block (no frame, no size prefix); the raw size travels in
//! the `x-log-bodyrawsize` header instead.

/// Compresses an encoded LogGroup.
pub fn lz4_block(raw: &[u8]) -> Vec<u8> {
    lz4_flex::block::compress(raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_without_a_size_prefix() {
        let raw = "unicode ✓ ".repeat(1000).into_bytes();
        let compressed = lz4_block(&raw);
        assert!(compressed.len() < raw.len() / 10);
        assert_eq!(
            lz4_flex::block::decompress(&compressed, raw.len()).unwrap(),
            raw
        );
        // With a prefix, the first 4 bytes would be the little-endian length.
        assert_ne!(&compressed[..4], &(raw.len() as u32).to_le_bytes());
    }
}
