//! Content-defined chunking of a stream with FastCDC.
//!
//! Cuts are identical to fastcdc's `StreamCDC`: a chunk is only cut once
//! `max_size` bytes (or the end of the stream) follow its start, which is
//! all FastCDC ever looks at. Unlike `StreamCDC` the buffer is reused:
//! no per-chunk memmove of the window or re-zeroing.

use std::io::{ErrorKind, Read};

use fastcdc::v2020::FastCDC;

use super::ChunkerParams;

pub struct Chunker<R> {
    source: R,
    params: ChunkerParams,
    buf: Vec<u8>,
    /// Bytes of `buf` that hold data not yet cut.
    start: usize,
    end: usize,
    eof: bool,
}

impl<R: Read> Chunker<R> {
    /// Reuses `buf` (from [`Self::into_buffer`]) so a backup of many small
    /// files allocates the window once.
    pub fn with_buffer(source: R, params: ChunkerParams, mut buf: Vec<u8>) -> Self {
        // Two chunks' worth: a refill moves at most one chunk's tail.
        let size = params.max_size as usize * 2;
        if buf.len() != size {
            buf = vec![0; size];
        }
        Chunker {
            source,
            params,
            buf,
            start: 0,
            end: 0,
            eof: false,
        }
    }

    pub fn into_buffer(self) -> Vec<u8> {
        self.buf
    }

    /// Makes sure at least `max_size` bytes are buffered, or the stream ended.
    fn fill(&mut self) -> std::io::Result<()> {
        let max = self.params.max_size as usize;
        if self.end - self.start >= max || self.eof {
            return Ok(());
        }
        // Move the uncut tail to the front once, then read after it.
        self.buf.copy_within(self.start..self.end, 0);
        self.end -= self.start;
        self.start = 0;
        while self.end < self.buf.len() {
            match self.source.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    break;
                }
                Ok(n) => self.end += n,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// The next chunk, or `None` at the end of the stream.
    pub fn next_chunk(&mut self) -> std::io::Result<Option<Vec<u8>>> {
        self.fill()?;
        let available = &self.buf[self.start..self.end];
        if available.is_empty() {
            return Ok(None);
        }
        let p = self.params;
        let len = FastCDC::new(available, p.min_size, p.avg_size, p.max_size)
            .next()
            .map_or(available.len(), |c| c.length);
        let chunk = available[..len].to_vec();
        self.start += len;
        Ok(Some(chunk))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that returns at most `step` bytes a call, like a pipe.
    struct Trickle<'a>(&'a [u8], usize);

    impl Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            let n = self.0.len().min(self.1).min(out.len());
            out[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn cuts_exactly_where_fastcdc_streamcdc_cuts() {
        let params = ChunkerParams {
            min_size: 4096,
            avg_size: 16384,
            max_size: 65536,
        };
        let mut x: u64 = 7;
        let mut data: Vec<u8> = (0..3_000_000)
            .map(|_| {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (x >> 59) as u8
            })
            .collect();
        // Long runs force max-size cuts too.
        data[1_000_000..1_400_000].fill(b'z');
        let expected: Vec<Vec<u8>> = fastcdc::v2020::StreamCDC::new(
            &data[..],
            params.min_size,
            params.avg_size,
            params.max_size,
        )
        .map(|c| c.unwrap().data)
        .collect();
        for step in [7, 4096, 100_000, usize::MAX] {
            let mut chunker = Chunker::with_buffer(Trickle(&data, step), params, Vec::new());
            let mut got = Vec::new();
            while let Some(chunk) = chunker.next_chunk().unwrap() {
                got.push(chunk);
            }
            assert_eq!(got.len(), expected.len(), "read size {step}");
            assert!(got == expected, "cut points differ with read size {step}");
        }
        let mut empty = Chunker::with_buffer(&b""[..], params, Vec::new());
        assert!(empty.next_chunk().unwrap().is_none());
    }
}
