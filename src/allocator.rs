//! glibc's allocator, told how a server uses it. By default glibc gives each
//! thread that allocates its own arena (up to eight per core) and keeps what
//! is freed in them: 64 connections drawing charts at new sizes took the
//! server from 17 MB to 450 MB resident, kept afterwards. Two arenas, and
//! freed memory handed back to the system now and then, bound that.

/// Blocks from 1 MB up (a chart's bitmap, its PNG, a decoded question) are
/// mapped on their own and unmapped when freed. glibc's default threshold
/// climbs to the largest block freed so far (up to 32 MB), after which
/// bitmaps come from the arenas and their pages stay with the process.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MMAP_THRESHOLD: libc::c_int = 1 << 20;

/// Call once, first thing, before any thread starts.
pub fn limit_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets a tuning parameter of the allocator.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
    }
}

/// Returns freed memory at the top of the heap and in whole free pages to
/// the system (a few ms; the server's upkeep thread calls it periodically).
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks the allocator's own free lists.
    unsafe {
        libc::malloc_trim(0);
    }
}
