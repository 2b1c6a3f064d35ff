#ifndef AIV_ALLOCATOR_H
#define AIV_ALLOCATOR_H

/// Tells glibc's allocator to keep memory it frees rather than hand it back to the system at once
/// (a no-op with another C library). Call first thing in `main`: the settings are process-wide.
void aiv_keep_freed_memory(void);

#endif
