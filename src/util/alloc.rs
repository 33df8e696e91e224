//! How long the allocator (mimalloc) keeps memory it no longer uses before giving it back to
//! the system: its purge delay. Kept, memory is reused without the kernel zeroing fresh pages
//! again; given back at once, the peak RSS follows the live data. Which is better depends on
//! the work: see where [`set_purge_delay`] is called.

/// `mi_option_purge_delay` in the mimalloc (v3) that libmimalloc-sys 0.1.49 builds: its place
/// in `mi_option_t`, which that crate does not name.
pub const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Sets the purge delay, in milliseconds, unless `MIMALLOC_PURGE_DELAY` is set in the
/// environment (which then decides). Call it before the work it is for starts its threads.
pub fn set_purge_delay(ms: std::os::raw::c_long) {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
        return;
    }
    // SAFETY: sets one integer option, through the allocator's own API; the option is valid
    // for the pinned version (see above). A program whose global allocator is not mimalloc
    // (the test harness) only sets an option nothing reads.
    #[allow(unsafe_code)]
    unsafe {
        libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, ms)
    }
}
