//! A raw HTTP/2 connection, for what a tonic client will not do: hold back a call's body, never
//! answer the server's SETTINGS or PING, or never send the preface at all. Blocking, frame by
//! frame, HPACK only as literals.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use prost::Message;

use super::bounded::HANG;

pub const DATA: u8 = 0x0;
pub const HEADERS: u8 = 0x1;
pub const RST_STREAM: u8 = 0x3;
pub const SETTINGS: u8 = 0x4;
pub const PING: u8 = 0x6;
pub const GOAWAY: u8 = 0x7;
pub const END_STREAM: u8 = 0x1;
pub const ACK: u8 = 0x1;
pub const END_HEADERS: u8 = 0x4;

#[derive(Debug)]
pub struct Frame {
    pub kind: u8,
    pub flags: u8,
    pub stream_id: u32,
    pub payload: Vec<u8>,
}

/// Blocking HTTP/2 over TCP, written frame by frame (HPACK only as literals). Reads time out
/// after [`HANG`]. Use from `block_in_place`.
pub struct RawConnection {
    stream: TcpStream,
}

impl RawConnection {
    /// Connects without sending anything.
    pub fn connect(addr: SocketAddr) -> Self {
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).expect("connecting");
        stream.set_read_timeout(Some(HANG)).unwrap();
        stream.set_nodelay(true).unwrap();
        Self { stream }
    }

    /// Sends the client connection preface and empty SETTINGS.
    pub fn send_preface(&mut self) {
        self.stream
            .write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
            .unwrap();
        self.send(SETTINGS, 0, 0, &[]);
    }

    pub fn send(&mut self, kind: u8, flags: u8, stream_id: u32, payload: &[u8]) {
        let length = (payload.len() as u32).to_be_bytes();
        let mut frame = vec![length[1], length[2], length[3], kind, flags];
        frame.extend_from_slice(&stream_id.to_be_bytes());
        frame.extend_from_slice(payload);
        self.stream.write_all(&frame).expect("writing a frame");
    }

    pub fn read(&mut self) -> std::io::Result<Frame> {
        let mut header = [0u8; 9];
        self.stream.read_exact(&mut header)?;
        let length = u32::from_be_bytes([0, header[0], header[1], header[2]]) as usize;
        let mut payload = vec![0; length];
        self.stream.read_exact(&mut payload)?;
        Ok(Frame {
            kind: header[3],
            flags: header[4],
            stream_id: u32::from_be_bytes([header[5], header[6], header[7], header[8]])
                & 0x7fff_ffff,
            payload,
        })
    }

    /// Reads frames, answering SETTINGS and PING as a well-behaved peer does, up to and including
    /// the first that `done` accepts; returns them all.
    pub fn read_until(&mut self, what: &str, mut done: impl FnMut(&Frame) -> bool) -> Vec<Frame> {
        let mut frames = Vec::new();
        for _ in 0..1000 {
            let frame = self
                .read()
                .unwrap_or_else(|e| panic!("waiting for {what}: {e}; read so far: {frames:?}"));
            if frame.kind == SETTINGS && frame.flags & ACK == 0 {
                self.send(SETTINGS, ACK, 0, &[]);
            }
            if frame.kind == PING && frame.flags & ACK == 0 {
                let payload = frame.payload.clone();
                self.send(PING, ACK, 0, &payload);
            }
            let finished = done(&frame);
            frames.push(frame);
            if finished {
                return frames;
            }
        }
        panic!("no {what} in 1000 frames");
    }
}

/// A request header block for a gRPC call of `path`: literal fields without indexing, no Huffman.
pub fn grpc_request_headers(addr: SocketAddr, path: &str) -> Vec<u8> {
    let authority = addr.to_string();
    let fields = [
        (":method", "POST"),
        (":scheme", "http"),
        (":path", path),
        (":authority", authority.as_str()),
        ("content-type", "application/grpc"),
        ("te", "trailers"),
    ];
    let mut block = Vec::new();
    for (name, value) in fields {
        assert!(name.len() < 127 && value.len() < 127);
        block.push(0x00);
        block.push(name.len() as u8);
        block.extend_from_slice(name.as_bytes());
        block.push(value.len() as u8);
        block.extend_from_slice(value.as_bytes());
    }
    block
}

/// One gRPC length-prefixed message.
pub fn grpc_message(message: &impl Message) -> Vec<u8> {
    let body = message.encode_to_vec();
    let mut framed = vec![0];
    framed.extend_from_slice(&(body.len() as u32).to_be_bytes());
    framed.extend_from_slice(&body);
    framed
}
