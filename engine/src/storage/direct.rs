//! Large file writes that bypass the page cache (`O_DIRECT`).
//!
//! Packs and restored files are written once and not read back soon;
//! copying them into the page cache costs more CPU than producing them on
//! some machines (virtual ones especially), and the later flush is slower
//! than the device. Where the filesystem refuses `O_DIRECT` (tmpfs), the
//! same calls write normally.

use std::alloc::{alloc, dealloc, Layout};
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::Path;

/// `O_DIRECT` needs memory, offsets and lengths aligned to the device's
/// logical block; a page covers every common one.
const ALIGN: usize = 4096;

/// Files smaller than this are written normally: a direct write waits for
/// the device, which costs more than the copy for small files.
pub const DIRECT_MIN: usize = 1 << 20;

/// A page-aligned buffer of fixed size.
pub struct AlignedBuf {
    ptr: std::ptr::NonNull<u8>,
    len: usize,
}

// SAFETY: the buffer is plain owned memory, like a Vec<u8>.
unsafe impl Send for AlignedBuf {}
// SAFETY: as for Send; shared references give no access to the bytes.
unsafe impl Sync for AlignedBuf {}

impl AlignedBuf {
    pub fn new(len: usize) -> Self {
        let len = len.div_ceil(ALIGN).max(1) * ALIGN;
        let layout = Layout::from_size_align(len, ALIGN).expect("buffer layout");
        // SAFETY: the layout has a non-zero size.
        let ptr = unsafe { alloc(layout) };
        let Some(ptr) = std::ptr::NonNull::new(ptr) else {
            std::alloc::handle_alloc_error(layout)
        };
        AlignedBuf { ptr, len }
    }

    fn as_mut(&mut self) -> &mut [u8] {
        // SAFETY: `ptr` points to `len` bytes owned by self (uninitialised
        // memory is only written through this slice before it is read).
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }
}

impl Drop for AlignedBuf {
    fn drop(&mut self) {
        let layout = Layout::from_size_align(self.len, ALIGN).expect("buffer layout");
        // SAFETY: allocated in `new` with this layout.
        unsafe { dealloc(self.ptr.as_ptr(), layout) }
    }
}

/// Writes a new file through an aligned buffer, directly where possible.
pub struct DirectWriter {
    file: File,
    /// `None` writes normally.
    buf: Option<AlignedBuf>,
    filled: usize,
    offset: u64,
}

impl DirectWriter {
    /// Creates (truncates) `path`, to be written directly through `buf`
    /// (reused from an earlier writer) or, with `None`, normally.
    pub fn create(path: &Path, mut buf: Option<AlignedBuf>) -> io::Result<Self> {
        let open = |flags| {
            OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .custom_flags(flags)
                .open(path)
        };
        let file = match buf {
            Some(_) => match open(libc::O_DIRECT) {
                Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
                    buf = None;
                    open(0)?
                }
                opened => opened?,
            },
            None => open(0)?,
        };
        Ok(DirectWriter {
            file,
            buf,
            filled: 0,
            offset: 0,
        })
    }

    pub fn write(&mut self, mut data: &[u8]) -> io::Result<()> {
        let Some(buf) = self.buf.as_mut() else {
            return self.file.write_all(data);
        };
        while !data.is_empty() {
            let n = (buf.len - self.filled).min(data.len());
            buf.as_mut()[self.filled..self.filled + n].copy_from_slice(&data[..n]);
            self.filled += n;
            data = &data[n..];
            if self.filled == buf.len {
                let whole = self.filled;
                self.file
                    .write_all_at(&buf.as_mut()[..whole], self.offset)?;
                self.offset += whole as u64;
                self.filled = 0;
            }
        }
        Ok(())
    }

    /// Writes what is left (whole blocks directly, the partial last one
    /// normally) and returns the file, not yet synced, and the buffer.
    pub fn finish(mut self) -> io::Result<(File, Option<AlignedBuf>)> {
        if let Some(buf) = self.buf.as_mut() {
            let whole = self.filled / ALIGN * ALIGN;
            self.file
                .write_all_at(&buf.as_mut()[..whole], self.offset)?;
            if self.filled > whole {
                let fd = self.file.as_raw_fd();
                // SAFETY: fcntl on the descriptor `self.file` keeps open.
                let rc = unsafe {
                    let flags = libc::fcntl(fd, libc::F_GETFL);
                    libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_DIRECT)
                };
                if rc != 0 {
                    return Err(io::Error::last_os_error());
                }
                let tail = &buf.as_mut()[whole..self.filled];
                self.file.write_all_at(tail, self.offset + whole as u64)?;
            }
        }
        Ok((self.file, self.buf))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_exactly_the_bytes_given_in_any_pieces() {
        let dir = tempfile::tempdir().unwrap();
        let data: Vec<u8> = (0..3_000_123u32)
            .map(|i| (i * 7 + i / 4096) as u8)
            .collect();
        for (n, piece) in [1usize, 4096, 70_000, 3_000_123].into_iter().enumerate() {
            for direct in [true, false] {
                let path = dir.path().join(format!("f{n}{direct}"));
                let buf = direct.then(|| AlignedBuf::new(64 * 1024));
                let mut w = DirectWriter::create(&path, buf).unwrap();
                for part in data.chunks(piece) {
                    w.write(part).unwrap();
                }
                let (file, _buf) = w.finish().unwrap();
                file.sync_all().unwrap();
                assert!(std::fs::read(&path).unwrap() == data, "pieces of {piece}");
            }
        }
    }
}
