//! glibc's allocator, told how a server uses it. By default glibc gives each
//! thread that allocates its own arena (up to eight per core) and keeps what
//! is freed in them: 64 connections drawing charts at new sizes took the
//! server from 17 MB to 450 MB resident, kept afterwards. Two arenas, and
//! freed memory handed back to the system now and then, bound that.

/// Call once, first thing, before any thread starts.
pub fn limit_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets a tuning parameter of the allocator.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
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
