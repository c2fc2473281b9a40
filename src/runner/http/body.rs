//! Reading a response body under its cap and before the exchange's deadline,
//! decompressing `Content-Encoding: gzip` on the way.
//!
//! Whatever the server sends, memory stays bounded by the cap plus one frame: a
//! body that grows past the cap (decompressed, for gzip, so a small "zip bomb"
//! stops at the cap too) is cut there and reported as too large.

use std::io::{self, Write};

use bytes::{Bytes, BytesMut};
use flate2::write::GzDecoder;
use hyper::body::Incoming;
use tokio::time::{Instant, timeout_at};

use super::classify::HttpError;
use super::conn::Conn;

/// Never reserve more than this up front, whatever `content-length` claims.
const MAX_PREALLOCATION: usize = 64 * 1024;

/// Compressed input is fed to the decoder in pieces this large, so one frame of
/// highly compressed data cannot decompress into more than about a megabyte before
/// the cap is checked again.
const GZIP_PIECE: usize = 1024;

/// Why the body was not read to its end.
#[derive(Debug)]
pub(super) enum BodyStop {
    TooLarge,
    Timeout,
    Failed(HttpError),
}

/// How to read one body.
#[derive(Debug, Clone, Copy)]
pub(super) struct Reading {
    /// At most this many bytes are kept (after decompression).
    pub cap: usize,
    /// `content-length`, a hint for the first allocation.
    pub hint: usize,
    /// The body is gzip and is decompressed.
    pub gzip: bool,
    /// Everything must have arrived by then.
    pub deadline: Instant,
}

/// Reads `body`, arriving on `conn`, to its end or until it stops (too large, too
/// slow, broken, not valid gzip); what arrived until then is returned either way.
pub(super) async fn read(
    conn: &mut Conn,
    body: &mut Incoming,
    how: Reading,
) -> (Bytes, Option<BodyStop>) {
    let mut sink = Sink::new(how);
    loop {
        let frame = match timeout_at(how.deadline, conn.frame(body)).await {
            Err(_) => return (sink.into_bytes(), Some(BodyStop::Timeout)),
            Ok(None) => break,
            Ok(Some(Err(e))) => return (sink.into_bytes(), Some(BodyStop::Failed(e.into()))),
            Ok(Some(Ok(frame))) => frame,
        };
        // Trailers carry nothing a journey looks at.
        let Ok(data) = frame.into_data() else {
            continue;
        };
        if let Err(e) = sink.push(&data) {
            let stop = BodyStop::Failed(HttpError::Decode(e));
            return (sink.into_bytes(), Some(stop));
        }
        if sink.over() {
            return (sink.into_bytes(), Some(BodyStop::TooLarge));
        }
    }
    match sink.finish() {
        (bytes, Ok(())) => (bytes, None),
        (bytes, Err(e)) => (bytes, Some(BodyStop::Failed(HttpError::Decode(e)))),
    }
}

/// Bytes kept up to a cap; what comes after is dropped and noted.
struct Capped {
    buf: BytesMut,
    cap: usize,
    over: bool,
}

impl Capped {
    fn push(&mut self, data: &[u8]) {
        let room = self.cap - self.buf.len();
        if data.len() > room {
            self.buf.extend_from_slice(&data[..room]);
            self.over = true;
        } else {
            self.buf.extend_from_slice(data);
        }
    }
}

impl Write for Capped {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.push(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

enum Sink {
    Plain(Capped),
    Gzip {
        decoder: Box<GzDecoder<Capped>>,
        started: bool,
    },
}

impl Sink {
    fn new(how: Reading) -> Self {
        let reserve = if how.gzip {
            0
        } else {
            how.hint.min(how.cap).min(MAX_PREALLOCATION)
        };
        let capped = Capped {
            buf: BytesMut::with_capacity(reserve),
            cap: how.cap,
            over: false,
        };
        if how.gzip {
            Sink::Gzip {
                decoder: Box::new(GzDecoder::new(capped)),
                started: false,
            }
        } else {
            Sink::Plain(capped)
        }
    }

    fn push(&mut self, data: &[u8]) -> io::Result<()> {
        match self {
            Sink::Plain(capped) => capped.push(data),
            Sink::Gzip { decoder, started } => {
                *started |= !data.is_empty();
                for piece in data.chunks(GZIP_PIECE) {
                    decoder.write_all(piece)?;
                    if decoder.get_ref().over {
                        break;
                    }
                }
            }
        }
        Ok(())
    }

    fn over(&self) -> bool {
        match self {
            Sink::Plain(capped) => capped.over,
            Sink::Gzip { decoder, .. } => decoder.get_ref().over,
        }
    }

    /// The end of the body: a gzip stream must be complete.
    fn finish(mut self) -> (Bytes, io::Result<()>) {
        let done = match &mut self {
            Sink::Gzip {
                decoder,
                started: true,
            } => decoder.try_finish(),
            _ => Ok(()),
        };
        (self.into_bytes(), done)
    }

    fn into_bytes(self) -> Bytes {
        match self {
            Sink::Plain(capped) => capped.buf.freeze(),
            Sink::Gzip { mut decoder, .. } => std::mem::take(&mut decoder.get_mut().buf).freeze(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        enc.write_all(data).unwrap();
        enc.finish().unwrap()
    }

    fn sink(gzip: bool, cap: usize) -> Sink {
        Sink::new(Reading {
            cap,
            hint: 0,
            gzip,
            deadline: Instant::now(),
        })
    }

    #[test]
    fn gzip_is_decompressed_across_frames() {
        let packed = gzip(b"{\"order\":\"o-1\"}");
        let mut s = sink(true, 1024);
        for byte in &packed {
            s.push(std::slice::from_ref(byte)).unwrap();
        }
        let (bytes, done) = s.finish();
        done.unwrap();
        assert_eq!(&bytes[..], b"{\"order\":\"o-1\"}");
    }

    #[test]
    fn a_gzip_bomb_stops_at_the_cap() {
        let packed = gzip(&vec![0u8; 8 * 1024 * 1024]);
        assert!(packed.len() < 64 * 1024, "{}", packed.len());
        let mut s = sink(true, 4096);
        s.push(&packed).unwrap();
        assert!(s.over());
        assert_eq!(s.into_bytes().len(), 4096);
    }

    #[test]
    fn a_truncated_or_garbled_gzip_body_is_an_error() {
        let packed = gzip(b"hello, hello, hello");
        let mut s = sink(true, 1024);
        s.push(&packed[..packed.len() - 4]).unwrap();
        assert!(s.finish().1.is_err());
        let mut s = sink(true, 1024);
        let garbled = s
            .push(b"this is not gzip at all")
            .and_then(|()| s.finish().1);
        assert!(garbled.is_err());
    }

    #[test]
    fn plain_bodies_are_cut_at_the_cap() {
        let mut s = sink(false, 4);
        s.push(b"abc").unwrap();
        assert!(!s.over());
        s.push(b"de").unwrap();
        assert!(s.over());
        assert_eq!(&s.into_bytes()[..], b"abcd");
    }
}
