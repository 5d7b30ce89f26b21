//! Decision records as JSON Lines in a file that rotates by size, written by a thread of its
//! own through a bounded queue, optionally chained by hashes so a reader can tell whether a
//! record was edited, removed or moved.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use file_rotate::compression::Compression;
use file_rotate::suffix::AppendCount;
use file_rotate::{ContentLimit, FileRotate};

use super::{hex, AuditSink, DecisionRecord};

/// The hash a chain starts from.
const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What a full queue does to the request that brings one more record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Overflow {
    /// Drop the record, count it ([`JsonLinesSink::dropped`]) and warn: the request never waits.
    Drop,
    /// Wait for room up to this long (blocking the request's thread), then drop and count.
    Wait(Duration),
}

/// How a [`JsonLinesSink`] writes.
#[derive(Clone, Debug)]
pub struct JsonLinesOptions {
    /// Rotate when the file reaches this many bytes (default 100 MiB).
    pub max_bytes: usize,
    /// Rotated files kept beside the current one (`audit.jsonl.1`, …; default 10).
    pub keep_files: usize,
    /// Records waiting for the writer (default 65,536).
    pub queue: usize,
    /// When the queue is full (default [`Overflow::Drop`]).
    pub overflow: Overflow,
    /// Chain each record to the one before by a SHA-256 hash (`prev`, `hash`; default on).
    pub hash_chain: bool,
}

impl Default for JsonLinesOptions {
    fn default() -> Self {
        JsonLinesOptions {
            max_bytes: 100 * 1024 * 1024,
            keep_files: 10,
            queue: 65_536,
            overflow: Overflow::Drop,
            hash_chain: true,
        }
    }
}

/// The records handed over and not yet taken by the writer, as lines of canonical JSON (see
/// [`DecisionRecord`]: its fields serialize in name order).
struct Pending {
    lines: Vec<u8>,
    records: usize,
    /// Flushes waiting for everything handed over before them to be written.
    flushes: Vec<SyncSender<()>>,
    /// The writer sleeps on [`Shared::wake`] and must be woken by the next record.
    writer_waits: bool,
    /// The sink is gone: the writer writes what is left and ends.
    closed: bool,
}

/// What the request threads and the writer thread share. A record crosses as bytes appended to
/// one buffer that the writer swaps for its own empty one, so no allocation made on a request
/// thread is freed on the writer's (or the reverse): both buffers keep their capacity.
struct Shared {
    pending: Mutex<Pending>,
    wake: Condvar,
    capacity: usize,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Pending> {
        // A writer that panicked mid-swap leaves whole lines behind: the data is still sound.
        self.pending
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

thread_local! {
    /// Each request thread's serialization buffer, reused from record to record.
    static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Decision records as JSON Lines, one object per line (see [`DecisionRecord`]'s fields, plus
/// `prev` and `hash` with the hash chain).
pub struct JsonLinesSink {
    shared: Arc<Shared>,
    overflow: Overflow,
    dropped: AtomicU64,
}

impl std::fmt::Debug for JsonLinesSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsonLinesSink")
            .field("dropped", &self.dropped())
            .finish()
    }
}

impl JsonLinesSink {
    /// Appends to `path` (created if absent), rotating as `options` say. A chain continues from
    /// the last record already in the file.
    pub fn open(path: impl AsRef<Path>, options: JsonLinesOptions) -> std::io::Result<Self> {
        let path = path.as_ref().to_path_buf();
        let last_hash = if options.hash_chain {
            Some(last_hash(&path)?)
        } else {
            None
        };
        let file = FileRotate::new(
            &path,
            AppendCount::new(options.keep_files),
            ContentLimit::BytesSurpassed(options.max_bytes),
            Compression::None,
            None,
        );
        let shared = Arc::new(Shared {
            pending: Mutex::new(Pending {
                lines: Vec::new(),
                records: 0,
                flushes: Vec::new(),
                writer_waits: false,
                closed: false,
            }),
            wake: Condvar::new(),
            capacity: options.queue.max(1),
        });
        let writer = shared.clone();
        std::thread::Builder::new()
            .name("mcp-rbac-audit".into())
            .spawn(move || write_records(file, &writer, last_hash))?;
        Ok(JsonLinesSink {
            shared,
            overflow: options.overflow,
            dropped: AtomicU64::new(0),
        })
    }

    /// Records dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    fn drop_record(&self) {
        crate::metrics::audit_record_dropped();
        let dropped = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
        if dropped == 1 || dropped.is_multiple_of(1000) {
            tracing::warn!(target: "mcp_rbac::audit", dropped, "audit queue full: records dropped");
        }
    }

    /// Appends one serialized line if the queue has room; `false` when it is full.
    fn hand_over(&self, line: &[u8]) -> bool {
        let mut pending = self.shared.lock();
        if pending.records >= self.shared.capacity {
            return false;
        }
        pending.lines.extend_from_slice(line);
        pending.lines.push(b'\n');
        pending.records += 1;
        if pending.writer_waits {
            pending.writer_waits = false;
            self.shared.wake.notify_one();
        }
        true
    }
}

impl AuditSink for JsonLinesSink {
    fn record(&self, record: &DecisionRecord<'_>) {
        SCRATCH.with(|scratch| {
            let Ok(mut line) = scratch.try_borrow_mut() else {
                // Reentered (a sink recording from inside serialization): nothing to reuse.
                return self.record_with(&mut Vec::new(), record);
            };
            self.record_with(&mut line, record);
        });
    }

    fn flush(&self) {
        let (done, wait) = sync_channel(1);
        {
            let mut pending = self.shared.lock();
            pending.flushes.push(done);
            pending.writer_waits = false;
        }
        self.shared.wake.notify_one();
        let _ = wait.recv_timeout(Duration::from_secs(30));
    }
}

impl JsonLinesSink {
    fn record_with(&self, line: &mut Vec<u8>, record: &DecisionRecord<'_>) {
        line.clear();
        canonical_json(line, record);
        let deadline = match self.overflow {
            Overflow::Drop => None,
            Overflow::Wait(wait) => Some(Instant::now() + wait),
        };
        while !self.hand_over(line) {
            match deadline {
                Some(deadline) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_micros(100));
                }
                _ => return self.drop_record(),
            }
        }
    }
}

/// `record` as canonical JSON (keys sorted, `None`s skipped as [`DecisionRecord`]'s `Serialize`
/// skips them, strings escaped as `serde_json` escapes them): the bytes `serde_json::to_writer`
/// writes for it, which a property test holds it to. It runs for every decision on the request's
/// path, where the serializer's escaping of every key and value was most of a record's cost:
/// here the keys are written as they are, and a value is escaped only when it holds a
/// character JSON escapes.
fn canonical_json(out: &mut Vec<u8>, record: &DecisionRecord<'_>) {
    let mut line = JsonObject::open(out);
    // The fields in name order.
    if let Some(digest) = &record.arguments_digest {
        line.text("arguments_digest", digest);
    }
    if let Some(client) = &record.client {
        line.text("client", client);
    }
    line.text(
        "decision",
        match record.decision {
            super::Decision::Allow => "allow",
            super::Decision::Deny => "deny",
        },
    );
    if let Some(detail) = &record.detail {
        line.text("detail", detail);
    }
    if let Some(hidden) = record.hidden {
        line.number("hidden", hidden as u64);
    }
    if let Some(issuer) = &record.issuer {
        line.text("issuer", issuer);
    }
    line.value("jsonrpc_id", &record.jsonrpc_id);
    line.text("kind", record.kind);
    line.number("latency_ns", record.latency_ns);
    line.text("name", &record.name);
    line.text("policy_version", &record.policy_version);
    line.text("reason", record.reason);
    line.optional_text("request_id", record.request_id.as_deref());
    if let Some(required) = &record.required {
        line.text("required", required);
    }
    if let Some(shown) = record.shown {
        line.number("shown", shown as u64);
    }
    if let Some(status) = record.status {
        line.number("status", status.into());
    }
    line.optional_text("subject", record.subject.as_deref());
    line.text("time", record.time.as_str());
    line.close();
}

/// A JSON object written member by member; keys are the caller's own and need no escaping.
struct JsonObject<'o> {
    out: &'o mut Vec<u8>,
    empty: bool,
}

impl<'o> JsonObject<'o> {
    fn open(out: &'o mut Vec<u8>) -> Self {
        out.push(b'{');
        JsonObject { out, empty: true }
    }

    fn key(&mut self, key: &str) {
        if !self.empty {
            self.out.push(b',');
        }
        self.empty = false;
        self.out.push(b'"');
        self.out.extend_from_slice(key.as_bytes());
        self.out.extend_from_slice(b"\":");
    }

    fn text(&mut self, key: &str, value: &str) {
        self.key(key);
        if value.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
            self.out.push(b'"');
            self.out.extend_from_slice(value.as_bytes());
            self.out.push(b'"');
        } else {
            // Writing to a `Vec` cannot fail.
            let _ = serde_json::to_writer(&mut *self.out, value);
        }
    }

    fn optional_text(&mut self, key: &str, value: Option<&str>) {
        match value {
            Some(value) => self.text(key, value),
            None => self.value(key, &()),
        }
    }

    fn number(&mut self, key: &str, value: u64) {
        self.value(key, &value);
    }

    fn value(&mut self, key: &str, value: &impl serde::Serialize) {
        self.key(key);
        let _ = serde_json::to_writer(&mut *self.out, value);
    }

    fn close(self) {
        self.out.push(b'}');
    }
}

impl Drop for JsonLinesSink {
    fn drop(&mut self) {
        self.shared.lock().closed = true;
        self.shared.wake.notify_one();
    }
}

/// How long the writer sleeps when nothing is pending before looking again. Under load it
/// polls, so a request handing over its record never has to wake the thread (a futex call that
/// costs more than the record); after [`IDLE_POLLS`] empty looks it sleeps until woken. Each
/// look costs a timer wake-up whatever the load, so they are 10 ms apart: at the default queue
/// of 65,536 records that leaves room for 6.5 million records a second.
const POLL: Duration = Duration::from_millis(10);
const IDLE_POLLS: u32 = 10;

/// The writer thread: takes the pending lines a buffer at a time, chains them, and writes them
/// up to 64 KiB per write (whole lines, so rotation happens between lines, never inside one).
fn write_records(mut out: FileRotate<AppendCount>, shared: &Shared, mut chain: Option<String>) {
    let mut taken = Vec::new();
    let mut batch = Vec::new();
    let mut scratch = Vec::new();
    let mut failed = false;
    let mut idle = 0;
    loop {
        let (flushes, closed) = {
            let mut pending = shared.lock();
            if pending.records == 0 && pending.flushes.is_empty() && !pending.closed {
                if idle < IDLE_POLLS {
                    drop(pending);
                    idle += 1;
                    std::thread::sleep(POLL);
                    continue;
                }
                pending.writer_waits = true;
                while pending.writer_waits && !pending.closed {
                    pending = shared
                        .wake
                        .wait(pending)
                        .unwrap_or_else(|poisoned| poisoned.into_inner());
                }
            }
            std::mem::swap(&mut pending.lines, &mut taken);
            pending.records = 0;
            (std::mem::take(&mut pending.flushes), pending.closed)
        };
        idle = 0;
        for line in taken.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            append(&mut batch, &mut chain, line, &mut scratch);
            // Bounded writes: the file rotates between them, close to its size limit.
            if batch.len() >= 64 * 1024 {
                write_batch(&mut out, &mut batch, &mut failed);
            }
        }
        taken.clear();
        write_batch(&mut out, &mut batch, &mut failed);
        if !flushes.is_empty() {
            let _ = out.flush();
            for done in flushes {
                let _ = done.send(());
            }
        }
        if closed {
            break;
        }
    }
    let _ = out.flush();
}

/// One record's line in `batch`: with the hash chain, `prev` and `hash` added before its
/// closing brace.
fn append(batch: &mut Vec<u8>, chain: &mut Option<String>, json: &[u8], scratch: &mut Vec<u8>) {
    match (chain, json.strip_suffix(b"}")) {
        (Some(prev), Some(open)) => {
            let hash = link(prev, json, scratch);
            batch.extend_from_slice(open);
            batch.extend_from_slice(b",\"hash\":\"");
            batch.extend_from_slice(hash.as_bytes());
            batch.extend_from_slice(b"\",\"prev\":\"");
            batch.extend_from_slice(prev.as_bytes());
            batch.extend_from_slice(b"\"}");
            *prev = hash;
        }
        _ => batch.extend_from_slice(json),
    }
    batch.push(b'\n');
}

/// Writes the lines in `batch` with one write, and empties it. An error is logged once until a
/// write succeeds again; the lines it held are lost (and the chain shows the gap).
fn write_batch(out: &mut FileRotate<AppendCount>, batch: &mut Vec<u8>, failed: &mut bool) {
    if batch.is_empty() {
        return;
    }
    match out.write_all(batch) {
        Ok(()) => *failed = false,
        Err(e) if !*failed => {
            *failed = true;
            tracing::error!(target: "mcp_rbac::audit", "writing the audit file: {e}");
        }
        Err(_) => {}
    }
    batch.clear();
}

/// The hash of a record after `prev`: SHA-256 over `prev`, a newline, and the record as
/// canonical JSON (keys sorted, without `prev` and `hash`).
///
/// The three parts are put together in `scratch` for a one-shot digest, which costs less than
/// a streaming one fed three times.
fn link(prev: &str, canonical: &[u8], scratch: &mut Vec<u8>) -> String {
    scratch.clear();
    scratch.extend_from_slice(prev.as_bytes());
    scratch.push(b'\n');
    scratch.extend_from_slice(canonical);
    hex(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, scratch).as_ref())
}

/// The `hash` of the last record in `path`, or the genesis hash for a new or empty file.
fn last_hash(path: &Path) -> std::io::Result<String> {
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(GENESIS.to_owned()),
        Err(e) => return Err(e),
    };
    let mut last = GENESIS.to_owned();
    for line in std::io::BufReader::new(file).lines() {
        let line = line?;
        if let Ok(value) = serde_json::from_str::<serde_json::Value>(&line) {
            if let Some(hash) = value.get("hash").and_then(|h| h.as_str()) {
                last = hash.to_owned();
            }
        }
    }
    Ok(last)
}

/// Where a chained file stops being intact.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ChainError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A record (1-based line number) is not what the chain says it was.
    #[error("record {line}: {why}")]
    Broken {
        /// The first record that does not fit.
        line: usize,
        /// What does not fit.
        why: &'static str,
    },
}

/// Checks the hash chain of a JSON Lines audit file: every record's `hash` matches its content
/// and its `prev` the record before it (the first record's `prev` must be the chain's start,
/// unless the file continues a rotated one: `continues` then accepts any). The number of
/// records, or the first that does not fit.
pub fn verify_chain(path: impl AsRef<Path>, continues: bool) -> Result<usize, ChainError> {
    let path = path.as_ref();
    let read = |source| ChainError::Read {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(read)?;
    let mut prev: Option<String> = (!continues).then(|| GENESIS.to_owned());
    let mut count = 0;
    let mut scratch = Vec::new();
    for (i, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.map_err(read)?;
        let broken = |why| ChainError::Broken { line: i + 1, why };
        let mut value: serde_json::Value =
            serde_json::from_str(&line).map_err(|_| broken("not a JSON object"))?;
        let map = value
            .as_object_mut()
            .ok_or_else(|| broken("not a JSON object"))?;
        let (Some(serde_json::Value::String(hash)), Some(serde_json::Value::String(claimed))) =
            (map.remove("hash"), map.remove("prev"))
        else {
            return Err(broken("no `hash` and `prev`"));
        };
        if let Some(expected) = &prev {
            if *expected != claimed {
                return Err(broken(
                    "`prev` is not the previous record's hash: a record before it was removed, \
                     added or moved",
                ));
            }
        }
        if link(&claimed, value.to_string().as_bytes(), &mut scratch) != hash {
            return Err(broken("`hash` does not match the record: it was edited"));
        }
        prev = Some(hash);
        count += 1;
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::Decision;

    fn record(n: u64) -> DecisionRecord<'static> {
        let request_id = format!("r-{n}");
        DecisionRecord::new(
            "v1",
            Some(&request_id),
            Some(&rmcp::model::RequestId::Number(n as i64)),
            None,
            if n.is_multiple_of(2) {
                Decision::Allow
            } else {
                Decision::Deny
            },
            "granted",
            Instant::now(),
        )
        .item("tool", "delete_product", Some("Admin.Write"))
        .into_owned()
    }

    fn dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "mcp-rbac-audit-{}-{}",
            std::process::id(),
            super::super::RequestId::generate().as_str()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn write(path: &Path, n: u64) {
        let sink = JsonLinesSink::open(path, JsonLinesOptions::default()).unwrap();
        for i in 0..n {
            sink.record(&record(i));
        }
        sink.flush();
    }

    fn lines(path: &Path) -> Vec<String> {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn a_record_serializes_to_canonical_json() {
        // Every field set, so none is skipped.
        let claims = serde_json::json!({"azp": "agent"});
        let principal = crate::Principal::builder("alice")
            .issuer("https://login.example.com")
            .claims(claims.as_object().unwrap().clone())
            .client("agent")
            .build();
        let digest = "ab".repeat(32);
        let record = DecisionRecord::new(
            "v1",
            Some("r-1"),
            Some(&rmcp::model::RequestId::Number(1)),
            Some(&principal),
            Decision::Deny,
            "missing_permission",
            Instant::now(),
        )
        .item("tool", "delete_product", Some("Admin.Write"))
        .arguments(Some(&digest))
        .status(401)
        .detail("token has expired")
        .listed(1, 2);
        let direct = serde_json::to_string(&record).unwrap();
        let canonical = serde_json::to_value(&record).unwrap().to_string();
        assert_eq!(
            direct, canonical,
            "DecisionRecord's fields must stay in name order"
        );
    }

    /// Any text, with the characters JSON escapes and some it does not (`/`, DEL, non-ASCII)
    /// made likely.
    fn any_text() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::strategy::Strategy;
        proptest::collection::vec(
            proptest::prop_oneof![
                proptest::char::range('\u{0}', '\u{1f}'),
                proptest::sample::select(vec!['"', '\\', '/', '\u{7f}', 'é', '😀', 'a', ' ']),
                proptest::char::any(),
            ],
            0..12,
        )
        .prop_map(|chars| chars.into_iter().collect())
    }

    proptest::proptest! {
        /// The sink's own writer gives the bytes `serde_json` gives for every field set and
        /// every text, and they are canonical (what `verify_chain` recomputes the hash over).
        #[test]
        fn the_written_line_is_serde_jsons_canonical_json(
            texts in proptest::collection::vec(proptest::option::of(any_text()), 9),
            numbers in proptest::collection::vec(proptest::option::of(0u64..u64::MAX), 4),
            string_id in proptest::bool::ANY,
            deny in proptest::bool::ANY,
        ) {
            let principal = texts[0].as_ref().map(|subject| {
                let mut builder = crate::Principal::builder(subject.clone());
                if let Some(issuer) = &texts[1] {
                    builder = builder.issuer(issuer.clone());
                }
                if let Some(client) = &texts[2] {
                    builder = builder.client(client.clone());
                }
                builder.build()
            });
            let id = match (string_id, &texts[3]) {
                (true, Some(id)) => Some(rmcp::model::RequestId::String(id.as_str().into())),
                (false, _) => numbers[0].map(|n| rmcp::model::RequestId::Number(n as i64)),
                (true, None) => None,
            };
            let name = texts[4].clone().unwrap_or_default();
            let mut record = DecisionRecord::new(
                texts[5].as_deref().unwrap_or("v1"),
                texts[6].as_deref(),
                id.as_ref(),
                principal.as_ref(),
                if deny { Decision::Deny } else { Decision::Allow },
                "granted",
                Instant::now(),
            )
            .item("tool", &name, texts[7].as_deref())
            .arguments(texts[8].as_deref());
            if let Some(detail) = &texts[3] {
                record = record.detail(detail);
            }
            if let Some(status) = numbers[1] {
                record = record.status(status as u16);
            }
            if let (Some(shown), Some(hidden)) = (numbers[2], numbers[3]) {
                record = record.listed(shown as usize, hidden as usize);
            }
            let mut written = Vec::new();
            canonical_json(&mut written, &record);
            let expected = serde_json::to_vec(&record).unwrap();
            proptest::prop_assert_eq!(&written, &expected);
            let canonical = serde_json::to_value(&record).unwrap().to_string();
            proptest::prop_assert_eq!(written, canonical.into_bytes());
        }
    }

    #[test]
    fn an_intact_chain_verifies_and_continues_across_opens() {
        let dir = dir();
        let path = dir.join("audit.jsonl");
        write(&path, 5);
        write(&path, 3);
        assert_eq!(verify_chain(&path, false).unwrap(), 8);
        let first: serde_json::Value = serde_json::from_str(&lines(&path)[0]).unwrap();
        assert_eq!(first["prev"], GENESIS);
        assert_eq!(first["request_id"], "r-0");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn an_edited_removed_or_moved_record_is_named() {
        let dir = dir();
        let path = dir.join("audit.jsonl");
        write(&path, 6);
        let original = lines(&path);
        let check = |lines: Vec<String>| {
            std::fs::write(&path, lines.join("\n") + "\n").unwrap();
            match verify_chain(&path, false) {
                Err(ChainError::Broken { line, .. }) => line,
                other => panic!("{other:?}"),
            }
        };
        let mut edited = original.clone();
        edited[3] = edited[3].replace("\"deny\"", "\"allow\"");
        assert_eq!(check(edited), 4);
        let mut removed = original.clone();
        removed.remove(2);
        assert_eq!(check(removed), 3);
        let mut moved = original.clone();
        moved.swap(1, 4);
        assert_eq!(check(moved), 2);
        std::fs::write(&path, original.join("\n") + "\n").unwrap();
        assert_eq!(verify_chain(&path, false).unwrap(), 6);
    }

    #[test]
    fn a_full_queue_drops_and_counts_without_waiting() {
        let dir = dir();
        let options = JsonLinesOptions {
            queue: 1,
            ..JsonLinesOptions::default()
        };
        let sink = JsonLinesSink::open(dir.join("audit.jsonl"), options).unwrap();
        let started = Instant::now();
        for i in 0..10_000 {
            sink.record(&record(i));
        }
        assert!(started.elapsed() < Duration::from_secs(5));
        sink.flush();
        let written = lines(&dir.join("audit.jsonl")).len() as u64;
        assert_eq!(written + sink.dropped(), 10_000);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn the_file_rotates_by_size() {
        let dir = dir();
        let path = dir.join("audit.jsonl");
        let options = JsonLinesOptions {
            max_bytes: 4096,
            keep_files: 3,
            ..JsonLinesOptions::default()
        };
        let sink = JsonLinesSink::open(&path, options).unwrap();
        for i in 0..200 {
            sink.record(&record(i));
        }
        sink.flush();
        assert!(dir.join("audit.jsonl.1").exists());
        assert!(!dir.join("audit.jsonl.4").exists());
        // The current file continues the chain of the rotated one.
        assert!(verify_chain(&path, true).unwrap() > 0);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
