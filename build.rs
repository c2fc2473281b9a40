//! Link-time layout of the release binary.
//!
//! An idle daemon's resident memory is mostly pages of its own code: the kernel maps
//! 64 KiB around every page a process touches (fault-around), and the ~4,500 functions
//! start-up, a run and a scrape use are spread over all 23 MB of `.text`. The release
//! build therefore asks the linker (LLD, Rust's default on x86_64 Linux) to place those
//! functions first, hottest first, from `layout/hot-functions.txt`. That list is
//! generated, not written: `scripts/bench/layout.py` runs the daemon under callgrind and
//! writes every function it executed. A symbol the list names and the binary lacks (new
//! code, another compiler) is skipped without a warning, so a stale list costs memory,
//! never a build.
//!
//! Also for the release build: relative relocations packed as DT_RELR (glibc 2.36,
//! Debian 12), so start-up does not read 1.8 MB of `.rela.dyn`.

use std::path::Path;

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-changed=layout/hot-functions.txt");
    // The target whose default linker is LLD (Rust 1.90 and later); GNU ld
    // would refuse `--symbol-ordering-file`.
    let release = std::env::var("PROFILE").is_ok_and(|p| p == "release");
    let lld_target = std::env::var("TARGET").is_ok_and(|t| t == "x86_64-unknown-linux-gnu");
    if !release || !lld_target {
        return;
    }
    let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
    let order = Path::new(&dir).join("layout/hot-functions.txt");
    // `-Xlinker`, not `-Wl,`: the path goes to the linker whole, commas and all.
    let linker = |arg: &str| {
        println!("cargo::rustc-link-arg-bin=journeyd=-Xlinker");
        println!("cargo::rustc-link-arg-bin=journeyd={arg}");
    };
    if order.is_file() {
        linker("--symbol-ordering-file");
        linker(&order.display().to_string());
        linker("--no-warn-symbol-ordering");
    }
    linker("-z");
    linker("pack-relative-relocs");
}
