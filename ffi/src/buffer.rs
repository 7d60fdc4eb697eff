//! Byte spans in (borrowed from the caller) and `MssBuffer` out (owned by the library).

use std::ptr;

use crate::status::{Failure, guard_void};

/// Bytes the library hands to the host. The library owns them: read `len` bytes at `ptr`, then
/// give the buffer back with `mss_buffer_free`. An empty buffer has `ptr == NULL` and `len == 0`.
#[repr(C)]
pub struct MssBuffer {
    pub ptr: *mut u8,
    pub len: usize,
}

impl MssBuffer {
    pub(crate) const EMPTY: MssBuffer = MssBuffer {
        ptr: ptr::null_mut(),
        len: 0,
    };

    fn from_vec(bytes: Vec<u8>) -> Self {
        if bytes.is_empty() {
            return Self::EMPTY;
        }
        let len = bytes.len();
        let ptr = Box::into_raw(bytes.into_boxed_slice()) as *mut u8;
        Self { ptr, len }
    }
}

/// Frees the bytes of a buffer the library filled and resets it to empty, so a second free is
/// harmless. Accepts NULL and an empty buffer.
///
/// # Safety
/// `buffer` is NULL or points to an `MssBuffer` this library filled (or one that is empty).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mss_buffer_free(buffer: *mut MssBuffer) {
    guard_void(|| {
        // SAFETY: NULL or a valid buffer, per the contract.
        let Some(buffer) = (unsafe { buffer.as_mut() }) else {
            return;
        };
        if !buffer.ptr.is_null() {
            let slice = ptr::slice_from_raw_parts_mut(buffer.ptr, buffer.len);
            // SAFETY: `ptr`/`len` came from `MssBuffer::from_vec`'s boxed slice.
            drop(unsafe { Box::from_raw(slice) });
        }
        *buffer = MssBuffer::EMPTY;
    })
}

/// Checks an output slot and empties it, so the host may free it whatever the outcome.
///
/// # Safety
/// `out` is NULL or a writable `MssBuffer` that outlives `'a`.
pub(crate) unsafe fn out_buffer<'a>(out: *mut MssBuffer) -> Result<&'a mut MssBuffer, Failure> {
    // SAFETY: the caller passes NULL or a writable `MssBuffer`.
    let out =
        unsafe { out.as_mut() }.ok_or_else(|| Failure::invalid("the output buffer is NULL"))?;
    *out = MssBuffer::EMPTY;
    Ok(out)
}

/// Fills an output slot emptied by [`out_buffer`].
pub(crate) fn fill(out: &mut MssBuffer, bytes: Vec<u8>) {
    *out = MssBuffer::from_vec(bytes);
}

/// Reads a byte span the caller lends for the duration of the call. NULL with length 0 is empty.
///
/// # Safety
/// `ptr` is NULL or valid for `len` bytes for the lifetime `'a`.
pub(crate) unsafe fn bytes_arg<'a>(
    ptr: *const u8,
    len: usize,
    what: &str,
) -> Result<&'a [u8], Failure> {
    if ptr.is_null() {
        return if len == 0 {
            Ok(&[])
        } else {
            Err(Failure::invalid(format!(
                "{what} is NULL with a non-zero length"
            )))
        };
    }
    // SAFETY: per the contract.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// Reads a UTF-8 span; invalid UTF-8 is `InvalidArgument`.
///
/// # Safety
/// As [`bytes_arg`].
pub(crate) unsafe fn str_arg<'a>(
    ptr: *const u8,
    len: usize,
    what: &str,
) -> Result<&'a str, Failure> {
    // SAFETY: forwarded contract.
    let bytes = unsafe { bytes_arg(ptr, len, what) }?;
    std::str::from_utf8(bytes).map_err(|_| Failure::invalid(format!("{what} is not valid UTF-8")))
}
