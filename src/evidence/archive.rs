//! Takes named files (path → bytes), gives a `.tar.gz` archive, and back. Entries are
//! written in path order with fixed metadata, so the same evidence gives the same
//! archive bytes.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

/// Files of an archive by path (`/`-separated, relative).
pub type Entries = BTreeMap<String, Vec<u8>>;

/// Largest archive `read` accepts, unpacked: evidence is text and a few pages, so
/// anything near this size is not an archive stagegate wrote.
const MAX_UNPACKED: u64 = 1 << 30;

/// Writes `entries` as a gzip-compressed tar file.
pub fn write(path: &Path, entries: &Entries) -> std::io::Result<()> {
    let file = std::fs::File::create(path)?;
    let gz = flate2::write::GzEncoder::new(file, flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    for (name, bytes) in entries {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        // Fixed mode and time: the archive's bytes depend only on its content.
        header.set_mode(0o644);
        header.set_mtime(0);
        tar.append_data(&mut header, name, bytes.as_slice())?;
    }
    tar.into_inner()?.finish()?.sync_all()
}

/// Reads every regular file of a `.tar.gz` archive.
pub fn read(path: &Path) -> std::io::Result<Entries> {
    let file = std::fs::File::open(path)?;
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let mut entries = Entries::new();
    let mut total = 0u64;
    for entry in tar.entries()? {
        let mut entry = entry?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let name = entry.path()?.to_string_lossy().replace('\\', "/");
        total += entry.size();
        if total > MAX_UNPACKED {
            return Err(std::io::Error::other(
                "the archive unpacks to more than 1 GiB",
            ));
        }
        let mut bytes = Vec::with_capacity(entry.size() as usize);
        entry.read_to_end(&mut bytes)?;
        entries.insert(name, bytes);
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_survive_a_round_trip_and_the_bytes_are_stable() {
        let dir = tempfile::tempdir().unwrap();
        let mut entries = Entries::new();
        entries.insert("a/b.json".into(), b"{\"x\":1}".to_vec());
        entries.insert("hồ-sơ.txt".into(), "Nguyễn".as_bytes().to_vec());
        let (one, two) = (dir.path().join("1.tar.gz"), dir.path().join("2.tar.gz"));
        write(&one, &entries).unwrap();
        write(&two, &entries).unwrap();
        assert_eq!(read(&one).unwrap(), entries);
        assert_eq!(std::fs::read(&one).unwrap(), std::fs::read(&two).unwrap());
    }
}
