//! The process's memory use, as the kernel accounts it.

/// The peak resident set size of this process so far (Linux: `VmHWM`); `None` elsewhere.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.trim_start_matches("VmHWM:").trim().trim_end_matches("kB").trim().parse().ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    #[test]
    fn peak_rss_grows_with_what_is_touched() {
        let Some(before) = super::peak_rss_bytes() else { return };
        let block = vec![1u8; 64 << 20];
        let after = super::peak_rss_bytes().unwrap();
        assert!(after >= before.max(64 << 20), "{before} -> {after} with {} bytes", block.len());
    }
}
