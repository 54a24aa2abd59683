//! Bandwidth limits: a token bucket (`governor`) per limit, shared by every
//! thread that reads the source or writes the repository, so a limit holds
//! for every source kind and both storage backends.
//!
//! Tokens are KiB: the bucket's replenish interval is whole nanoseconds,
//! which at byte granularity would round a 500 MiB/s limit to 1 GB/s.
//! The burst is a tenth of a second's worth, so a run's achieved rate
//! starts at the limit rather than above it.

use std::io::Read;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

use crate::error::{EngineError, Result};
use crate::progress::CancelToken;

const KIB: u64 = 1024;

pub struct Throttle {
    limiter: DefaultDirectRateLimiter,
    clock: DefaultClock,
    /// KiB taken at most at once.
    burst: u32,
    bytes_per_second: u64,
}

impl std::fmt::Debug for Throttle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Throttle({} B/s)", self.bytes_per_second)
    }
}

impl Throttle {
    /// A limit of `bytes_per_second` (at least 64 KiB/s).
    pub fn new(bytes_per_second: u64, what: &str) -> Result<Self> {
        let kib = u32::try_from(bytes_per_second / KIB).unwrap_or(u32::MAX);
        let Some(rate) = NonZeroU32::new(kib).filter(|r| r.get() >= 64) else {
            return Err(EngineError::invalid(
                what,
                format!("{bytes_per_second} bytes per second: a limit is at least 64 KiB/s"),
            ));
        };
        let burst = NonZeroU32::new((rate.get() / 10).max(1)).unwrap_or(NonZeroU32::MIN);
        Ok(Throttle {
            limiter: RateLimiter::direct(Quota::per_second(rate).allow_burst(burst)),
            clock: DefaultClock::default(),
            burst: burst.get(),
            bytes_per_second,
        })
    }

    pub fn bytes_per_second(&self) -> u64 {
        self.bytes_per_second
    }

    /// Waits until `kib` KiB may pass (a cancelled run stops waiting).
    fn take_kib(&self, mut kib: u64, cancel: Option<&CancelToken>) -> Result<()> {
        while kib > 0 {
            let n = u32::try_from(kib.min(u64::from(self.burst))).unwrap_or(self.burst);
            let Some(cells) = NonZeroU32::new(n) else {
                return Ok(());
            };
            match self.limiter.check_n(cells) {
                Ok(Ok(())) => kib -= u64::from(n),
                Ok(Err(not_until)) => {
                    let wait = not_until.wait_time_from(self.clock.now());
                    std::thread::sleep(wait.min(Duration::from_millis(100)));
                    if let Some(cancel) = cancel {
                        cancel.check()?;
                    }
                }
                // n never exceeds the burst.
                Err(_) => kib -= u64::from(n),
            }
        }
        Ok(())
    }

    /// Waits until `bytes` may pass (rounded up to whole KiB).
    pub fn take(&self, bytes: u64) -> Result<()> {
        self.take_kib(bytes.div_ceil(KIB), None)
    }
}

/// A reader whose bytes pass through a throttle.
pub struct Throttled<'t, R> {
    inner: R,
    throttle: &'t Throttle,
    cancel: &'t CancelToken,
    /// Bytes read but not yet paid for (under a KiB).
    owed: u64,
}

impl<'t, R> Throttled<'t, R> {
    pub fn new(inner: R, throttle: &'t Throttle, cancel: &'t CancelToken) -> Self {
        Throttled {
            inner,
            throttle,
            cancel,
            owed: 0,
        }
    }
}

impl<R: Read> Read for Throttled<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.owed += n as u64;
        let kib = self.owed / KIB;
        self.owed %= KIB;
        self.throttle
            .take_kib(kib, Some(self.cancel))
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_limit_below_64_kib_is_refused() {
        let err = Throttle::new(10_000, "read limit").unwrap_err();
        assert!(err.to_string().contains("at least 64 KiB/s"), "{err}");
    }

    #[test]
    fn reading_through_a_throttle_takes_as_long_as_the_limit_says() {
        // 4 MiB at 8 MiB/s: half a second (the burst lets 0.1 s through at once).
        let throttle = Throttle::new(8 << 20, "read limit").unwrap();
        let cancel = CancelToken::new();
        let data = vec![7u8; 4 << 20];
        let started = std::time::Instant::now();
        let mut out = Vec::new();
        Throttled::new(&data[..], &throttle, &cancel)
            .read_to_end(&mut out)
            .unwrap();
        let took = started.elapsed().as_secs_f64();
        assert_eq!(out.len(), data.len());
        assert!(took >= 0.35, "{took} s: the limit did not slow the read");
    }
}
