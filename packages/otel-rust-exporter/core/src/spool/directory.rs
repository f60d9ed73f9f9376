//! The spool directory on disk: naming, atomic writes, claiming, eviction under the cap.
//! Blocking I/O: callers run it off the async workers (`spawn_blocking`).
//!
//! Names (the stem sorts by age: nanoseconds since the epoch, zero-padded):
//! - `{kind}-{nanos:020}-{pid}-{seq}.tmp`: being written;
//! - `{stem}.req`: ready to send, claimable by any process;
//! - `{stem}.req.{pid}-{token}.claim`: being sent by that process;
//! - `{stem}.req.corrupt`: failed its checks, kept aside for a person to look at;
//! - `spool.lock`: serialises every rename and write across processes, so that a writer's
//!   eviction counts each file once: a file renamed while the directory is listed can be
//!   missed under both names.
//!
//! A rename within one directory is atomic, so a reader sees a whole `.req` file or none,
//! and exactly one process wins the rename that claims it.

use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::format::{items_in_header, Corrupt, Request, HEADER_LEN};
use super::Kind;

const LOCK_FILE: &str = "spool.lock";
/// A claim this old is abandoned whoever holds it: no send takes that long (the longest
/// timeout is an hour), and the pid it names may have been reused.
const CLAIM_LIFETIME: Duration = Duration::from_secs(2 * 3600);

/// What one file name says.
#[derive(Debug, PartialEq, Eq)]
enum Entry {
    Temp { pid: u32 },
    Ready { kind: Kind, stamp: u128 },
    Claimed { pid: u32, token: String },
    Corrupt,
}

fn parse(name: &str) -> Option<Entry> {
    let (stem, rest) = name.split_once('.')?;
    let mut fields = stem.split('-');
    let kind = Kind::from_name(fields.next()?)?;
    let stamp = fields.next()?.parse().ok()?;
    let pid = fields.next()?.parse().ok()?;
    Some(match rest {
        "tmp" => Entry::Temp { pid },
        "req" => Entry::Ready { kind, stamp },
        "req.corrupt" => Entry::Corrupt,
        claim => {
            let owner = claim.strip_prefix("req.")?.strip_suffix(".claim")?;
            let (pid, token) = owner.split_once('-')?;
            Entry::Claimed {
                pid: pid.parse().ok()?,
                token: token.to_owned(),
            }
        }
    })
}

/// A file this process renamed to its claim name.
#[derive(Debug)]
pub struct Claim {
    claimed: PathBuf,
    ready: PathBuf,
}

/// What writing one request did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Written {
    /// Items in the older requests removed to make room.
    pub evicted_items: u64,
    /// The directory's total after the write.
    pub total_bytes: u64,
}

#[derive(Debug)]
pub enum WriteError {
    /// Even an emptied directory could not hold it (or what is left is claimed).
    NoRoom,
    Io(io::Error),
}

/// What claiming found.
#[derive(Debug, Default)]
pub struct Claimed {
    pub request: Option<(Claim, Request)>,
    /// Files moved aside, with why.
    pub corrupt: Vec<(PathBuf, Corrupt)>,
}

pub struct Directory {
    path: PathBuf,
    max_bytes: u64,
    pid: u32,
    /// Random per instance: two spools of one process never take each other's claims
    /// for abandoned ones, and a reused pid does not make an old claim look like ours.
    token: String,
    sequence: AtomicU64,
    /// Writers of this process take turns, so that eviction sees every earlier write.
    writing: Mutex<()>,
}

impl Directory {
    /// Touches nothing on disk: see [`Directory::prepare`].
    pub fn new(path: &Path, max_bytes: u64) -> Self {
        Self {
            path: path.to_owned(),
            max_bytes,
            pid: std::process::id(),
            token: format!("{:016x}", rand::random::<u64>()),
            sequence: AtomicU64::new(0),
            writing: Mutex::new(()),
        }
    }

    /// Creates the directory if needed; its total size.
    pub fn prepare(&self) -> io::Result<u64> {
        fs::create_dir_all(&self.path)?;
        fs::read_dir(&self.path)?;
        Ok(self.total_bytes())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes `request` under a temporary name and renames it into place, first evicting
    /// the oldest requests (of any kind) while the directory would pass its cap.
    pub fn write(&self, request: &Request) -> Result<Written, WriteError> {
        let file = request.to_bytes();
        let size = file.len() as u64;
        if size > self.max_bytes {
            return Err(WriteError::NoRoom);
        }
        let _turn = self
            .writing
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        // Again at each write: someone may have removed it meanwhile.
        fs::create_dir_all(&self.path).map_err(WriteError::Io)?;
        let _lock = DirectoryLock::take(&self.path.join(LOCK_FILE)).map_err(WriteError::Io)?;
        let mut written = Written::default();
        let mut total = self.make_room(size, &mut written).map_err(WriteError::Io)?;
        if total + size > self.max_bytes {
            return Err(WriteError::NoRoom);
        }
        let stamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        let sequence = self.sequence.fetch_add(1, Ordering::Relaxed);
        let stem = format!(
            "{}-{stamp:020}-{}-{sequence}",
            request.kind.name(),
            self.pid
        );
        let temp = self.path.join(format!("{stem}.tmp"));
        if let Err(error) = fs::write(&temp, &file) {
            let _ = fs::remove_file(&temp);
            return Err(WriteError::Io(error));
        }
        if let Err(error) = fs::rename(&temp, self.path.join(format!("{stem}.req"))) {
            let _ = fs::remove_file(&temp);
            return Err(WriteError::Io(error));
        }
        total += size;
        written.total_bytes = total;
        Ok(written)
    }

    /// Evicts until `size` more bytes fit (corrupt files first, then the oldest requests);
    /// returns the total left.
    fn make_room(&self, size: u64, written: &mut Written) -> io::Result<u64> {
        let mut entries = Vec::new();
        let mut total = 0u64;
        for entry in fs::read_dir(&self.path)? {
            let entry = entry?;
            let Ok(metadata) = entry.metadata() else {
                continue; // gone meanwhile
            };
            if !metadata.is_file() {
                continue;
            }
            total += metadata.len();
            let name = entry.file_name().to_string_lossy().into_owned();
            match parse(&name) {
                Some(Entry::Corrupt) => entries.push((0, 0, name, metadata.len())),
                Some(Entry::Ready { stamp, .. }) => entries.push((1, stamp, name, metadata.len())),
                _ => {}
            }
        }
        if total + size <= self.max_bytes {
            return Ok(total);
        }
        entries.sort();
        for (rank, _, name, length) in entries {
            if total + size <= self.max_bytes {
                break;
            }
            let path = self.path.join(&name);
            let items = if rank == 1 { header_items(&path) } else { 0 };
            if fs::remove_file(&path).is_ok() {
                total -= length;
                written.evicted_items += items;
            }
        }
        Ok(total)
    }

    /// Claims the oldest request of `kind`, first making abandoned claims claimable and
    /// removing abandoned temporary files. A file that fails its checks is moved aside.
    pub fn claim_oldest(&self, kind: Kind) -> io::Result<Claimed> {
        let _lock = DirectoryLock::take(&self.path.join(LOCK_FILE))?;
        let mut ready = Vec::new();
        for entry in fs::read_dir(&self.path)? {
            let name = entry?.file_name().to_string_lossy().into_owned();
            match parse(&name) {
                Some(Entry::Ready { kind: of, stamp }) if of == kind => ready.push((stamp, name)),
                Some(Entry::Claimed { pid, token }) if self.abandoned(&name, pid, &token) => {
                    let stem = name.split('.').next().unwrap_or_default();
                    let back = format!("{stem}.req");
                    let released = fs::rename(self.path.join(&name), self.path.join(&back)).is_ok();
                    if let (true, Some(Entry::Ready { kind: of, stamp })) = (released, parse(&back))
                    {
                        if of == kind {
                            ready.push((stamp, back));
                        }
                    }
                }
                Some(Entry::Temp { pid }) if pid != self.pid && !process_alive(pid) => {
                    let _ = fs::remove_file(self.path.join(&name));
                }
                _ => {}
            }
        }
        ready.sort();
        let mut claimed = Claimed::default();
        for (_, name) in ready {
            let ready = self.path.join(&name);
            let claim = self
                .path
                .join(format!("{name}.{}-{}.claim", self.pid, self.token));
            if fs::rename(&ready, &claim).is_err() {
                continue; // another process claimed (or evicted) it first
            }
            let bytes = fs::read(&claim)?;
            match Request::from_bytes(kind, bytes) {
                Ok(request) => {
                    claimed.request = Some((
                        Claim {
                            claimed: claim,
                            ready,
                        },
                        request,
                    ));
                    break;
                }
                Err(why) => {
                    let aside = self.path.join(format!("{name}.corrupt"));
                    let _ = fs::rename(&claim, &aside);
                    claimed.corrupt.push((aside, why));
                }
            }
        }
        Ok(claimed)
    }

    /// The request was delivered (or refused for good): it goes.
    pub fn finish(&self, claim: Claim) {
        let _ = fs::remove_file(&claim.claimed);
    }

    /// The request could not be sent now: it is claimable again, keeping its age.
    pub fn release(&self, claim: Claim) {
        // Renamed even without the lock: a claim left behind would never be sent.
        let _lock = DirectoryLock::take(&self.path.join(LOCK_FILE));
        let _ = fs::rename(&claim.claimed, &claim.ready);
    }

    /// The total size of every file in the directory.
    pub fn total_bytes(&self) -> u64 {
        let Ok(entries) = fs::read_dir(&self.path) else {
            return 0;
        };
        entries
            .filter_map(|entry| entry.ok()?.metadata().ok())
            .filter(|metadata| metadata.is_file())
            .map(|metadata| metadata.len())
            .sum()
    }

    fn abandoned(&self, name: &str, pid: u32, token: &str) -> bool {
        if pid == self.pid && token == self.token {
            return false;
        }
        let old = fs::metadata(self.path.join(name))
            .and_then(|metadata| metadata.modified())
            .ok()
            .and_then(|modified| modified.elapsed().ok())
            .is_some_and(|age| age > CLAIM_LIFETIME);
        old || (pid != self.pid && !process_alive(pid))
    }
}

fn header_items(path: &Path) -> u64 {
    let mut header = [0u8; HEADER_LEN];
    File::open(path)
        .and_then(|mut file| file.read_exact(&mut header))
        .ok()
        .and_then(|()| items_in_header(&header))
        .map_or(0, u64::from)
}

#[cfg(unix)]
fn process_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: signal 0 only checks that the process exists.
    let result = unsafe { libc::kill(pid, 0) };
    result == 0 || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Without a portable check, a claim is only abandoned once it is old.
#[cfg(not(unix))]
fn process_alive(_pid: u32) -> bool {
    true
}

/// An exclusive `flock` on the lock file, held across processes while files are written,
/// renamed or counted for eviction.
struct DirectoryLock(#[allow(dead_code)] File);

impl DirectoryLock {
    #[cfg(unix)]
    fn take(path: &Path) -> io::Result<Self> {
        use std::os::unix::io::AsRawFd;
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)?;
        // SAFETY: flock on a descriptor we own; released on drop.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Self(file))
    }

    #[cfg(not(unix))]
    fn take(path: &Path) -> io::Result<Self> {
        File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map(Self)
    }
}

/// Unlocked explicitly rather than by closing: a child forked meanwhile holds a copy of the
/// descriptor (its thread is gone, so it never closes it), and a `flock` lasts until every
/// copy is closed or it is unlocked.
#[cfg(unix)]
impl Drop for DirectoryLock {
    fn drop(&mut self) {
        use std::os::unix::io::AsRawFd;
        // SAFETY: flock on a descriptor we own.
        unsafe { libc::flock(self.0.as_raw_fd(), libc::LOCK_UN) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(kind: Kind, items: u32, body_len: usize) -> Request {
        Request {
            kind,
            gzipped: false,
            items,
            raw_len: body_len as u64,
            body: vec![7; body_len],
        }
    }

    /// Claims the oldest traces request, which the test expects to be there.
    fn oldest_trace(directory: &Directory) -> (Claim, Request) {
        directory
            .claim_oldest(Kind::Traces)
            .unwrap()
            .request
            .unwrap()
    }

    fn names(directory: &Directory) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(directory.path())
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name != LOCK_FILE)
            .collect();
        names.sort();
        names
    }

    fn scratch(name: &str) -> PathBuf {
        let path = std::env::temp_dir().join(format!(
            "otel-spool-{name}-{}-{:x}",
            std::process::id(),
            rand::random::<u32>()
        ));
        let _ = fs::remove_dir_all(&path);
        path
    }

    #[test]
    fn names_parse_back() {
        assert_eq!(
            parse("traces-00000000000000000042-17-3.req"),
            Some(Entry::Ready {
                kind: Kind::Traces,
                stamp: 42
            })
        );
        assert_eq!(
            parse("sls-00000000000000000042-17-3.req.99-abc.claim"),
            Some(Entry::Claimed {
                pid: 99,
                token: "abc".into()
            })
        );
        assert_eq!(
            parse("logs-00000000000000000042-17-3.tmp"),
            Some(Entry::Temp { pid: 17 })
        );
        assert_eq!(
            parse("logs-00000000000000000042-17-3.req.corrupt"),
            Some(Entry::Corrupt)
        );
        assert_eq!(parse("spool.lock"), None);
        assert_eq!(parse("notes.txt"), None);
    }

    #[test]
    fn requests_are_claimed_oldest_first_once_and_by_kind() {
        let path = scratch("order");
        let directory = Directory::new(&path, 1 << 20);
        for items in 1..=3 {
            directory.write(&request(Kind::Traces, items, 10)).unwrap();
        }
        directory.write(&request(Kind::Logs, 9, 10)).unwrap();
        let other = Directory::new(&path, 1 << 20);
        let (first, request) = oldest_trace(&directory);
        assert_eq!(request.items, 1);
        let (second, request) = oldest_trace(&other);
        assert_eq!(request.items, 2, "a claimed file is not claimed again");
        directory.release(first);
        let (first, request) = oldest_trace(&other);
        assert_eq!(request.items, 1, "a released file keeps its place");
        other.finish(first);
        other.finish(second);
        let (third, request) = oldest_trace(&directory);
        assert_eq!(request.items, 3);
        directory.finish(third);
        assert!(directory
            .claim_oldest(Kind::Traces)
            .unwrap()
            .request
            .is_none());
        assert_eq!(names(&directory).len(), 1, "only the log request is left");
        fs::remove_dir_all(path).unwrap();
    }

    #[test]
    fn the_cap_evicts_the_oldest_and_counts_every_file() {
        let path = scratch("cap");
        let file = (HEADER_LEN + 100) as u64;
        let directory = Directory::new(&path, 3 * file + 50);
        directory.prepare().unwrap();
        // A stray file counts too.
        fs::write(path.join("stray"), [0u8; 40]).unwrap();
        for items in 1..=3 {
            let written = directory.write(&request(Kind::Traces, items, 100)).unwrap();
            assert_eq!(written.evicted_items, 0);
        }
        let written = directory.write(&request(Kind::Traces, 4, 100)).unwrap();
        assert_eq!(written.evicted_items, 1, "the oldest request made room");
        assert_eq!(written.total_bytes, 3 * file + 40);
        assert!(directory.total_bytes() <= 3 * file + 50);
        let (claim, oldest) = oldest_trace(&directory);
        assert_eq!(oldest.items, 2);
        directory.release(claim);
        assert!(matches!(
            directory.write(&request(Kind::Traces, 5, 1000)),
            Err(WriteError::NoRoom)
        ));
        fs::remove_dir_all(path).unwrap();
    }

    #[test]
    fn corrupt_files_are_moved_aside_and_never_returned() {
        let path = scratch("corrupt");
        let directory = Directory::new(&path, 1 << 20);
        directory.write(&request(Kind::Traces, 1, 100)).unwrap();
        directory.write(&request(Kind::Traces, 2, 100)).unwrap();
        let oldest = names(&directory)[0].clone();
        let bytes = fs::read(path.join(&oldest)).unwrap();
        fs::write(path.join(&oldest), &bytes[..bytes.len() - 10]).unwrap();
        let claimed = directory.claim_oldest(Kind::Traces).unwrap();
        assert_eq!(claimed.corrupt.len(), 1);
        assert_eq!(claimed.corrupt[0].1, Corrupt::LengthMismatch);
        assert_eq!(claimed.request.unwrap().1.items, 2);
        assert!(names(&directory).contains(&format!("{oldest}.corrupt")));
        fs::remove_dir_all(path).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn claims_and_temporary_files_of_dead_processes_are_recovered() {
        let path = scratch("abandoned");
        let directory = Directory::new(&path, 1 << 20);
        directory.write(&request(Kind::Logs, 5, 10)).unwrap();
        let ready = names(&directory)[0].clone();
        // A pid no process has (above the kernel's maximum).
        let dead = 4_194_304 + 7;
        fs::rename(
            path.join(&ready),
            path.join(format!("{ready}.{dead}-f00.claim")),
        )
        .unwrap();
        fs::write(path.join(format!("logs-1-{dead}-0.tmp")), b"half").unwrap();
        // A live process's claim stays its own.
        directory.write(&request(Kind::Logs, 6, 10)).unwrap();
        let live = names(&directory)
            .into_iter()
            .find(|name| name.ends_with(".req"))
            .unwrap();
        fs::rename(path.join(&live), path.join(format!("{live}.1-f00.claim"))).unwrap();
        let claimed = directory.claim_oldest(Kind::Logs).unwrap();
        assert_eq!(claimed.request.unwrap().1.items, 5);
        assert!(!names(&directory).iter().any(|name| name.ends_with(".tmp")));
        assert!(directory
            .claim_oldest(Kind::Logs)
            .unwrap()
            .request
            .is_none());
        fs::remove_dir_all(path).unwrap();
    }
    #[test]
    fn the_cap_holds_while_another_spool_claims_and_releases() {
        let path = scratch("churn");
        let file = (HEADER_LEN + 1000) as u64;
        let cap = 5 * file;
        let writer = Directory::new(&path, cap);
        writer.prepare().unwrap();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let replayer = {
            let (path, stop) = (path.clone(), stop.clone());
            std::thread::spawn(move || {
                let directory = Directory::new(&path, cap);
                while !stop.load(Ordering::Relaxed) {
                    if let Ok(Claimed {
                        request: Some((claim, _)),
                        ..
                    }) = directory.claim_oldest(Kind::Traces)
                    {
                        directory.release(claim);
                    }
                }
            })
        };
        let mut over = Vec::new();
        for items in 0..2000 {
            writer.write(&request(Kind::Traces, items, 1000)).unwrap();
            // Counted under the lock, so that no claim or release moves a file meanwhile.
            let _lock = DirectoryLock::take(&path.join(LOCK_FILE)).unwrap();
            let total = writer.total_bytes();
            if total > cap {
                over.push(total);
            }
        }
        stop.store(true, Ordering::Relaxed);
        replayer.join().unwrap();
        assert!(
            over.is_empty(),
            "over the cap of {cap} after {} writes: {over:?}",
            over.len()
        );
        fs::remove_dir_all(path).unwrap();
    }
    #[cfg(unix)]
    #[test]
    fn a_child_forked_while_the_lock_is_held_does_not_keep_it() {
        use std::os::unix::io::AsRawFd;
        let path = scratch("fork");
        fs::create_dir_all(&path).unwrap();
        let lock = path.join(LOCK_FILE);
        let held = DirectoryLock::take(&lock).unwrap();
        // SAFETY: the child only sleeps and exits, both async-signal-safe.
        let child = unsafe { libc::fork() };
        if child == 0 {
            unsafe {
                libc::sleep(5);
                libc::_exit(0);
            }
        }
        assert!(child > 0);
        drop(held);
        let again = File::options().write(true).open(&lock).unwrap();
        // SAFETY: flock on a descriptor we own.
        let taken = unsafe { libc::flock(again.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0;
        // SAFETY: ends and reaps the child we forked.
        unsafe {
            libc::kill(child, libc::SIGKILL);
            libc::waitpid(child, std::ptr::null_mut(), 0);
        }
        assert!(taken, "the forked child kept the lock");
        fs::remove_dir_all(path).unwrap();
    }
}
