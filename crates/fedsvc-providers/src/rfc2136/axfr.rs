//! A zone transfer (AXFR, RFC 5936) read over a plain TCP connection, signed with TSIG
//! (RFC 8945) and verified message by message.
//!
//! The transfer is read to its end: it is complete only when the zone's SOA has been seen a
//! second time (the closing SOA). A connection that ends earlier, a message that is not a
//! NOERROR answer to our query, or a server that stays silent longer than the timeout is an
//! error; a partial zone is never returned.

use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hickory_proto::op::{Message, MessageType, ResponseCode, update_message};
use hickory_proto::rr::rdata::tsig::{TsigError, signed_bitmessage_to_buf};
use hickory_proto::rr::{self as hrr, Name, Record, TSigner};
use rand::{Rng, SeedableRng};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::config::ListLimits;

/// RFC 8945 §5.3.1: a client must accept up to 99 unsigned messages between two signed ones.
const MAX_UNSIGNED_RUN: usize = 99;

/// Why a transfer failed.
#[derive(Debug)]
pub(crate) enum AxfrError {
    /// Connecting, writing or reading failed.
    Io(std::io::Error),
    /// The server did not answer (or stopped sending) within the timeout.
    Timeout,
    /// The connection ended before the closing SOA.
    Incomplete {
        /// Messages read.
        messages: usize,
        /// Records read.
        records: usize,
    },
    /// The server answered with an error code; `tsig` is the TSIG error it reported, if any.
    Rcode {
        /// The response code.
        code: ResponseCode,
        /// The TSIG error in the (unsigned) error answer.
        tsig: Option<TsigError>,
    },
    /// An answer's TSIG signature is missing or does not verify.
    BadResponseSignature(String),
    /// An answer that is not a valid part of a transfer of the zone.
    Malformed(String),
    /// The transfer holds more records, or takes more bytes, than the listing may read.
    TooLarge(Exceeded),
}

/// Which limit of a listing a transfer exceeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Exceeded {
    /// More than this many records.
    Records(u64),
    /// More than this many bytes.
    Bytes(u64),
}

/// Transfers `zone` from `server`, handing each record of the zone to `each` as its message
/// is read (the opening SOA included, the closing one not), so that a large zone is never held
/// as wire records all at once. Only an `Ok` means the records handed over are the whole zone.
/// Every read (and the connection) must complete within `timeout`; the transfer as a whole may
/// take longer as long as data keeps coming. A transfer of more records or bytes than `limits`
/// allows stops there with [`AxfrError::TooLarge`].
pub(crate) async fn transfer(
    server: SocketAddr,
    zone: &Name,
    signer: Option<&TSigner>,
    timeout: Duration,
    limits: ListLimits,
    mut each: impl FnMut(Record),
) -> Result<(), AxfrError> {
    let mut query = update_message::zone_transfer(zone.clone(), None);
    query.metadata.id = rand::rngs::StdRng::from_os_rng().random();
    let request_mac = match signer {
        Some(signer) => {
            query
                .finalize(signer, unix_now())
                .map_err(|e| AxfrError::Malformed(format!("cannot sign the query: {e}")))?;
            query.signature().map(|s| s.data.mac.clone())
        }
        None => None,
    };
    let bytes = query
        .to_vec()
        .map_err(|e| AxfrError::Malformed(format!("cannot encode the query: {e}")))?;

    let mut stream = within(timeout, TcpStream::connect(server)).await?;
    let _ = stream.set_nodelay(true);
    let mut framed = Vec::with_capacity(bytes.len() + 2);
    framed.extend_from_slice(&(bytes.len() as u16).to_be_bytes());
    framed.extend_from_slice(&bytes);
    within(timeout, stream.write_all(&framed)).await?;

    let mut verifier =
        signer.map(|s| ChainVerifier::new(s.clone(), request_mac.unwrap_or_default()));
    let mut records = 0usize;
    let mut opening: Option<Record> = None;
    let mut messages = 0usize;
    let mut bytes = 0u64;
    let mut buf = Vec::new();
    loop {
        let mut len = [0u8; 2];
        match within(timeout, stream.read_exact(&mut len)).await {
            Ok(_) => {}
            Err(AxfrError::Io(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                return Err(AxfrError::Incomplete { messages, records });
            }
            Err(e) => return Err(e),
        }
        let len = usize::from(u16::from_be_bytes(len));
        bytes += 2 + len as u64;
        if bytes > limits.max_bytes {
            return Err(AxfrError::TooLarge(Exceeded::Bytes(limits.max_bytes)));
        }
        buf.resize(len, 0);
        match within(timeout, stream.read_exact(&mut buf)).await {
            Ok(_) => {}
            Err(AxfrError::Io(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                return Err(AxfrError::Incomplete { messages, records });
            }
            Err(e) => return Err(e),
        }
        let message = Message::from_vec(&buf)
            .map_err(|e| AxfrError::Malformed(format!("undecodable message: {e}")))?;
        if message.metadata.id != query.metadata.id
            || message.metadata.message_type != MessageType::Response
        {
            return Err(AxfrError::Malformed(format!(
                "a message that does not answer the query (id {}, expected {})",
                message.metadata.id, query.metadata.id
            )));
        }
        let code = message.metadata.response_code;
        if code != ResponseCode::NoError {
            // Error answers to a refused signature are unsigned (RFC 8945 §5.3.2): report the
            // code and the TSIG error as they are.
            return Err(AxfrError::Rcode {
                code,
                tsig: message.signature().and_then(|s| s.data.error),
            });
        }
        if let Some(v) = &mut verifier {
            v.check(&buf, &message, messages == 0)?;
        }
        messages += 1;
        let mut closed = false;
        // The closing SOA is not counted: a zone of exactly the limit passes.
        let new_records = message.answers.len() as u64;
        if records as u64 + new_records > limits.max_records.saturating_add(1) {
            return Err(AxfrError::TooLarge(Exceeded::Records(limits.max_records)));
        }
        for record in message.answers {
            if closed {
                return Err(AxfrError::Malformed(
                    "records after the closing SOA".to_owned(),
                ));
            }
            let is_soa = record.record_type() == hrr::RecordType::SOA && record.name == *zone;
            match &opening {
                None => {
                    if !is_soa {
                        return Err(AxfrError::Malformed(format!(
                            "the transfer starts with {} {} instead of the zone's SOA",
                            record.name,
                            record.record_type()
                        )));
                    }
                    opening = Some(record.clone());
                    records += 1;
                    each(record);
                }
                Some(first) if is_soa => {
                    if first.data != record.data {
                        return Err(AxfrError::Malformed(
                            "the closing SOA differs from the opening SOA (the zone changed during the transfer)"
                                .to_owned(),
                        ));
                    }
                    closed = true;
                }
                Some(_) => {
                    records += 1;
                    each(record);
                }
            }
        }
        if closed {
            if let Some(v) = &verifier
                && v.unsigned_run > 0
            {
                return Err(AxfrError::BadResponseSignature(
                    "the last message of the transfer is not signed".to_owned(),
                ));
            }
            return Ok(());
        }
    }
}

/// Verifies the TSIG signatures of the messages of one transfer (RFC 8945 §5.3.1): the first
/// answer is signed over the query's MAC and the full TSIG variables; each later signed
/// message over the previous MAC, the unsigned messages since it, and the TSIG timers.
struct ChainVerifier {
    signer: TSigner,
    previous_mac: Vec<u8>,
    /// Unsigned messages since the last signed one, as received.
    unsigned: Vec<u8>,
    unsigned_run: usize,
    last_time: u64,
    /// The length of an untruncated MAC of our algorithm.
    mac_len: usize,
}

impl ChainVerifier {
    fn new(signer: TSigner, request_mac: Vec<u8>) -> Self {
        let mac_len = signer.sign(&[]).map(|m| m.len()).unwrap_or(0);
        ChainVerifier {
            mac_len,
            signer,
            previous_mac: request_mac,
            unsigned: Vec::new(),
            unsigned_run: 0,
            last_time: 0,
        }
    }

    fn check(&mut self, wire: &[u8], message: &Message, first: bool) -> Result<(), AxfrError> {
        let bad = |m: String| AxfrError::BadResponseSignature(m);
        if message.signature().is_none() {
            if first {
                return Err(bad("the first answer is not signed".to_owned()));
            }
            self.unsigned_run += 1;
            if self.unsigned_run > MAX_UNSIGNED_RUN {
                return Err(bad(format!(
                    "more than {MAX_UNSIGNED_RUN} unsigned messages in a row"
                )));
            }
            self.unsigned.extend_from_slice(wire);
            return Ok(());
        }
        // The data to verify, without the previous MAC: hickory's own chaining covers only
        // signed messages that follow each other, so the previous MAC and any unsigned
        // messages are prepended here.
        let (tbv, tsig_rr) = signed_bitmessage_to_buf(wire, None, first)
            .map_err(|e| bad(format!("cannot read the answer's TSIG record: {e}")))?;
        let tsig = &tsig_rr.data;
        if tsig_rr.name != *self.signer.signer_name() || tsig.algorithm != *self.signer.algorithm()
        {
            return Err(bad(format!(
                "the answer is signed with key {} ({}), not ours",
                tsig_rr.name, tsig.algorithm
            )));
        }
        if let Some(error) = tsig.error {
            return Err(bad(format!("the answer reports TSIG error {error:?}")));
        }
        if tsig.mac.len() < self.mac_len {
            return Err(bad("the answer's MAC is truncated".to_owned()));
        }
        let mut data =
            Vec::with_capacity(2 + self.previous_mac.len() + self.unsigned.len() + tbv.len());
        data.extend_from_slice(&(self.previous_mac.len() as u16).to_be_bytes());
        data.extend_from_slice(&self.previous_mac);
        data.extend_from_slice(&self.unsigned);
        data.extend_from_slice(&tbv);
        self.signer
            .verify(&data, &tsig.mac)
            .map_err(|_| bad("the answer's MAC does not verify".to_owned()))?;
        let now = unix_now();
        let fudge = u64::from(tsig.fudge);
        if now + fudge < tsig.time || tsig.time + fudge < now || tsig.time < self.last_time {
            return Err(bad(format!(
                "the answer's signing time {} lies outside {now} ± {fudge} s",
                tsig.time
            )));
        }
        self.last_time = tsig.time;
        self.previous_mac = tsig.mac.clone();
        self.unsigned.clear();
        self.unsigned_run = 0;
        Ok(())
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

async fn within<T>(
    timeout: Duration,
    fut: impl Future<Output = std::io::Result<T>>,
) -> Result<T, AxfrError> {
    match tokio::time::timeout(timeout, fut).await {
        Err(_) => Err(AxfrError::Timeout),
        Ok(Err(e)) => Err(AxfrError::Io(e)),
        Ok(Ok(v)) => Ok(v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::op::OpCode;
    use hickory_proto::rr::rdata::tsig::{TSIG, TsigAlgorithm, make_tsig_record};
    use hickory_proto::rr::rdata::{A, SOA};
    use hickory_proto::rr::{RData, TSigResponseContext};
    use tokio::net::TcpListener;

    /// How the fake primary answers.
    #[derive(Clone, Copy, Default)]
    struct Script {
        /// Sign only every `n`-th message after the first (1: all), when signing.
        sign_every: usize,
        /// Close the connection before the closing SOA.
        cut: bool,
        /// Flip one bit in the MAC of this message.
        tamper: Option<usize>,
        /// Accept the query and never answer.
        silent: bool,
        /// Answer with the opening SOA and then records forever, never the closing SOA.
        endless: bool,
    }

    fn zone() -> Name {
        Name::from_ascii("example.com.").unwrap()
    }

    fn signer() -> TSigner {
        TSigner::new(
            b"0123456789abcdef0123456789abcdef".to_vec(),
            TsigAlgorithm::HmacSha256,
            Name::from_ascii("ddns-key.").unwrap(),
            300,
        )
        .unwrap()
    }

    fn soa() -> Record {
        Record::from_rdata(
            zone(),
            300,
            RData::SOA(SOA::new(
                Name::from_ascii("ns.example.com.").unwrap(),
                Name::from_ascii("hostmaster.example.com.").unwrap(),
                7,
                3600,
                600,
                86400,
                60,
            )),
        )
    }

    /// The zone's records in `messages` messages of 50 A records each, SOA first and last.
    fn zone_messages(messages: usize) -> Vec<Vec<Record>> {
        let mut out: Vec<Vec<Record>> = (0..messages)
            .map(|m| {
                (0..50)
                    .map(|i| {
                        Record::from_rdata(
                            Name::from_ascii(format!("n{m}-{i}.example.com.")).unwrap(),
                            60,
                            RData::A(A::new(10, 0, m as u8, i as u8)),
                        )
                    })
                    .collect()
            })
            .collect();
        out[0].insert(0, soa());
        out[messages - 1].push(soa());
        out
    }

    /// A primary on loopback that answers one AXFR as `script` says.
    async fn fake_primary(signer: Option<TSigner>, script: Script) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut conn, _) = listener.accept().await.unwrap();
            let mut len = [0u8; 2];
            conn.read_exact(&mut len).await.unwrap();
            let mut query = vec![0u8; usize::from(u16::from_be_bytes(len))];
            conn.read_exact(&mut query).await.unwrap();
            let query = Message::from_vec(&query).unwrap();
            if script.silent {
                tokio::time::sleep(Duration::from_secs(30)).await;
                return;
            }
            if script.endless {
                let records = zone_messages(1).remove(0);
                let mut m = Message::response(query.metadata.id, OpCode::Query);
                m.add_answers(records.into_iter().skip(1).take(50));
                let wire = m.to_vec().unwrap();
                let mut framed = (wire.len() as u16).to_be_bytes().to_vec();
                framed.extend_from_slice(&wire);
                let mut first = Message::response(query.metadata.id, OpCode::Query);
                first.add_queries(query.queries.clone());
                first.add_answer(soa());
                let first = first.to_vec().unwrap();
                let mut opening = (first.len() as u16).to_be_bytes().to_vec();
                opening.extend_from_slice(&first);
                if conn.write_all(&opening).await.is_err() {
                    return;
                }
                // Until the client hangs up.
                while conn.write_all(&framed).await.is_ok() {}
                return;
            }
            let all = zone_messages(5);
            let count = if script.cut { all.len() - 1 } else { all.len() };
            let mut previous_mac = query.signature().map(|s| s.data.mac.clone());
            let mut unsigned: Vec<u8> = Vec::new();
            for (i, records) in all.into_iter().take(count).enumerate() {
                let mut m = Message::response(query.metadata.id, OpCode::Query);
                if i == 0 {
                    m.add_queries(query.queries.clone());
                }
                m.add_answers(records);
                let bytes = m.to_vec().unwrap();
                let last = i == count - 1 && !script.cut;
                let sign = signer.is_some() && (i == 0 || last || i % script.sign_every == 0);
                let wire = if let (true, Some(signer)) = (sign, &signer) {
                    let now = unix_now();
                    let mut tsig = if i == 0 {
                        let ctx = TSigResponseContext::new(
                            m.metadata.id,
                            now,
                            signer.clone(),
                            previous_mac.clone().unwrap(),
                            None,
                        );
                        *ctx.sign(&bytes).unwrap()
                    } else {
                        let prev = previous_mac.clone().unwrap();
                        let mut data = (prev.len() as u16).to_be_bytes().to_vec();
                        data.extend_from_slice(&prev);
                        data.extend_from_slice(&unsigned);
                        data.extend_from_slice(&bytes);
                        data.extend_from_slice(&now.to_be_bytes()[2..]);
                        data.extend_from_slice(&signer.fudge().to_be_bytes());
                        let mac = signer.sign(&data).unwrap();
                        make_tsig_record(
                            signer.signer_name().clone(),
                            TSIG::new(
                                signer.algorithm().clone(),
                                now,
                                signer.fudge(),
                                mac,
                                m.metadata.id,
                                None,
                                Vec::new(),
                            ),
                        )
                    };
                    previous_mac = Some(tsig.data.mac.clone());
                    unsigned.clear();
                    if script.tamper == Some(i) {
                        tsig.data.mac[0] ^= 1;
                    }
                    m.set_signature(Box::new(tsig));
                    m.to_vec().unwrap()
                } else {
                    unsigned.extend_from_slice(&bytes);
                    bytes
                };
                let mut framed = (wire.len() as u16).to_be_bytes().to_vec();
                framed.extend_from_slice(&wire);
                conn.write_all(&framed).await.unwrap();
            }
        });
        addr
    }

    async fn run(signed: bool, script: Script) -> Result<Vec<Record>, AxfrError> {
        let signer = signed.then(signer);
        let addr = fake_primary(signer.clone(), script).await;
        let mut records = Vec::new();
        let to = Duration::from_millis(500);
        let limits = ListLimits::default();
        transfer(addr, &zone(), signer.as_ref(), to, limits, |r| {
            records.push(r)
        })
        .await?;
        Ok(records)
    }

    #[tokio::test]
    async fn reads_every_message_and_verifies_each_signature() {
        let records = run(
            true,
            Script {
                sign_every: 1,
                ..Script::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(records.len(), 1 + 5 * 50);
        let records = run(false, Script::default()).await.unwrap();
        assert_eq!(records.len(), 1 + 5 * 50);
    }

    #[tokio::test]
    async fn accepts_unsigned_messages_between_signed_ones() {
        let records = run(
            true,
            Script {
                sign_every: 3,
                ..Script::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(records.len(), 1 + 5 * 50);
    }

    #[tokio::test]
    async fn a_bad_signature_on_any_message_fails() {
        for tamper in [0, 2, 4] {
            let err = run(
                true,
                Script {
                    sign_every: 1,
                    tamper: Some(tamper),
                    ..Script::default()
                },
            )
            .await
            .unwrap_err();
            assert!(
                matches!(err, AxfrError::BadResponseSignature(_)),
                "{tamper}: {err:?}"
            );
        }
        // Tampering with a signed message after unsigned ones is caught too.
        let err = run(
            true,
            Script {
                sign_every: 3,
                tamper: Some(3),
                ..Script::default()
            },
        )
        .await
        .unwrap_err();
        assert!(matches!(err, AxfrError::BadResponseSignature(_)), "{err:?}");
    }

    #[tokio::test]
    async fn a_transfer_cut_short_is_incomplete() {
        for signed in [true, false] {
            let err = run(
                signed,
                Script {
                    sign_every: 1,
                    cut: true,
                    ..Script::default()
                },
            )
            .await
            .unwrap_err();
            assert!(
                matches!(
                    err,
                    AxfrError::Incomplete {
                        messages: 4,
                        records: 201
                    }
                ),
                "{err:?}"
            );
        }
    }

    #[tokio::test]
    async fn an_endless_transfer_stops_at_the_limits() {
        // Each message holds 50 records of about 20 bytes.
        for (limits, exceeded, most) in [
            (
                ListLimits {
                    max_records: 1000,
                    ..ListLimits::default()
                },
                Exceeded::Records(1000),
                1001,
            ),
            (
                ListLimits {
                    max_bytes: 100_000,
                    ..ListLimits::default()
                },
                Exceeded::Bytes(100_000),
                100_000 / 20,
            ),
        ] {
            let addr = fake_primary(
                None,
                Script {
                    endless: true,
                    ..Script::default()
                },
            )
            .await;
            let mut count = 0u64;
            let started = std::time::Instant::now();
            let err = transfer(addr, &zone(), None, Duration::from_secs(5), limits, |_| {
                count += 1
            })
            .await
            .unwrap_err();
            assert!(
                matches!(&err, AxfrError::TooLarge(e) if *e == exceeded),
                "{err:?}"
            );
            assert!(count <= most, "{count} records handed over");
            assert!(started.elapsed() < Duration::from_secs(5));
        }
    }

    #[tokio::test]
    async fn a_zone_of_exactly_the_record_limit_passes() {
        // 1 SOA + 5 × 50 records, the closing SOA not counted.
        let addr = fake_primary(None, Script::default()).await;
        let limits = ListLimits {
            max_records: 251,
            ..ListLimits::default()
        };
        transfer(addr, &zone(), None, Duration::from_secs(5), limits, |_| {})
            .await
            .unwrap();
        let addr = fake_primary(None, Script::default()).await;
        let limits = ListLimits {
            max_records: 250,
            ..ListLimits::default()
        };
        let err = transfer(addr, &zone(), None, Duration::from_secs(5), limits, |_| {})
            .await
            .unwrap_err();
        assert!(
            matches!(err, AxfrError::TooLarge(Exceeded::Records(250))),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn a_silent_server_times_out() {
        let err = run(
            true,
            Script {
                silent: true,
                ..Script::default()
            },
        )
        .await
        .unwrap_err();
        assert!(matches!(err, AxfrError::Timeout), "{err:?}");
    }
}
