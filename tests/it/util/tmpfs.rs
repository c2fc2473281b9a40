//! A real, small file system for full-disk tests: a tmpfs mounted on a
//! directory, filled to the last byte and freed on demand, unmounted when
//! dropped. Mounting needs root (CI runs as root); without it the test fails
//! and says why, rather than passing without having tested anything.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A mounted tmpfs.
pub struct Tmpfs {
    at: PathBuf,
}

impl Tmpfs {
    /// Mounts a tmpfs of `size` (e.g. `4m`) on `at`, creating the directory.
    pub fn mount(at: &Path, size: &str) -> Tmpfs {
        std::fs::create_dir_all(at).unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .output();
        match out {
            Ok(o) if o.status.success() => Tmpfs {
                at: at.to_path_buf(),
            },
            Ok(o) => panic!(
                "this test needs a real small file system and could not mount a tmpfs \
                 (`mount -t tmpfs` said: {}); run it as root, as CI does",
                String::from_utf8_lossy(&o.stderr).trim()
            ),
            Err(e) => panic!(
                "this test needs a real small file system and could not run `mount` ({e}); \
                 run it as root, as CI does"
            ),
        }
    }

    /// Fills the file system to the last byte with a filler file.
    pub fn fill(&self) {
        let mut f = std::fs::File::create(self.filler()).unwrap();
        for chunk in [64 * 1024, 4096, 512, 1] {
            let buf = vec![0u8; chunk];
            while f.write_all(&buf).is_ok() {}
        }
    }

    /// Removes the filler: space returns.
    pub fn free(&self) {
        std::fs::remove_file(self.filler()).unwrap();
    }

    fn filler(&self) -> PathBuf {
        self.at.join("filler")
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        // Lazy: a daemon being killed may still hold files open.
        let _ = Command::new("umount").arg("-l").arg(&self.at).status();
    }
}
