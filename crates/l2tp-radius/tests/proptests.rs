//! Property tests: no parser panics on any input; typed packets survive encode → decode.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::{Duration, Instant};

use l2tp_radius::client::{Client, ClientConfig, Request, Server, ServerKind};
use l2tp_radius::dae::{DaeClient, DaeConfig, DaeServer};
use l2tp_radius::dict::{attr as at, code, ms};
use l2tp_radius::packet::{walk, Header};
use l2tp_radius::{crypt, Attr, Packet, Value};
use proptest::prelude::*;

/// Bytes that look like a RADIUS packet often enough to reach the attribute parser: a
/// header whose Length matches, then random attributes with plausible Type octets.
fn packetish() -> impl Strategy<Value = Vec<u8>> {
    (
        any::<u8>(),
        any::<u8>(),
        prop::collection::vec(
            (
                prop::sample::select(vec![1u8, 2, 3, 4, 8, 26, 61, 64, 66, 80, 95, 97, 123, 200]),
                prop::collection::vec(any::<u8>(), 0..40),
            ),
            0..12,
        ),
        any::<bool>(),
    )
        .prop_map(|(c, id, attrs, ms_vsa)| {
            let mut v = vec![c, id, 0, 0];
            v.extend_from_slice(&[7; 16]);
            for (t, val) in attrs {
                if t == 26 && ms_vsa {
                    let mut inner = vec![0, 0, 1, 0x37, val.first().copied().unwrap_or(16) % 32];
                    inner.push((val.len() + 2).min(255) as u8);
                    inner.extend_from_slice(&val);
                    v.push(26);
                    v.push((inner.len() + 2) as u8);
                    v.extend_from_slice(&inner);
                } else {
                    v.push(t);
                    v.push((val.len() + 2) as u8);
                    v.extend_from_slice(&val);
                }
            }
            let len = v.len() as u16;
            v[2..4].copy_from_slice(&len.to_be_bytes());
            v
        })
}

fn client() -> Client {
    let addr: SocketAddr = "192.0.2.1:1812".parse().unwrap();
    Client::with_seed(
        ClientConfig {
            servers: vec![Server {
                addr,
                secret: b"s".to_vec(),
                kind: ServerKind::Auth,
            }],
            timeout: Duration::from_secs(1),
            retries: 1,
            dead_time: Duration::from_secs(10),
            max_outstanding: 10,
            acct_queue_limit: 10,
        },
        1,
    )
    .unwrap()
}

fn every_parser(buf: &[u8]) {
    let _ = Header::parse(buf);
    let _ = walk(buf).count();
    let _ = Packet::decode_unverified(buf, b"s", &[1; 16]);
    let _ = Packet::decode_request(buf, b"s");
    let _ = Packet::decode_response(buf, b"s", &[1; 16]);
    let _ = crypt::unhide_password(buf, b"s", &[1; 16]);
    let _ = crypt::decrypt_mppe_key(buf, b"s", &[1; 16]);
    let from: SocketAddr = "192.0.2.1:3799".parse().unwrap();
    let mut dae = DaeServer::new(DaeConfig {
        clients: vec![DaeClient {
            addr: from.ip(),
            secret: b"s".to_vec(),
        }],
        ..Default::default()
    })
    .unwrap();
    let _ = dae.handle(from, buf, 0);
    let mut c = client();
    let now = Instant::now();
    let _ = c.send(now, Request::access(vec![Attr::bytes(at::USER_NAME, "u")]));
    c.handle_datagram(now, "192.0.2.1:1812".parse().unwrap(), buf);
}

fn attr_strategy() -> impl Strategy<Value = Attr> {
    let bytes = || prop::collection::vec(any::<u8>(), 0..60);
    prop_oneof![
        bytes().prop_map(|b| Attr::bytes(at::USER_NAME, b)),
        bytes().prop_map(|b| Attr::bytes(at::CLASS, b)),
        prop::collection::vec(1u8..=255, 0..=128).prop_map(Attr::user_password),
        (any::<u8>(), any::<[u8; 16]>()).prop_map(|(i, r)| Attr::chap_password(i, r)),
        any::<u32>().prop_map(|v| Attr::integer(at::ACCT_INPUT_OCTETS, v)),
        any::<[u8; 4]>().prop_map(|a| Attr::ipv4(at::FRAMED_IP_ADDRESS, Ipv4Addr::from(a))),
        any::<[u8; 16]>().prop_map(|a| Attr {
            typ: at::NAS_IPV6_ADDRESS,
            value: Value::Ipv6(Ipv6Addr::from(a))
        }),
        (0u8..=128, any::<[u8; 16]>()).prop_map(|(len, a)| {
            // Canonical form: bits past the prefix length are zero.
            let mut b = a;
            for (i, byte) in b.iter_mut().enumerate() {
                let keep = (usize::from(len).saturating_sub(i * 8)).min(8);
                *byte &= !(0xffu16 >> keep) as u8;
            }
            Attr {
                typ: at::DELEGATED_IPV6_PREFIX,
                value: Value::Ipv6Prefix {
                    len,
                    prefix: Ipv6Addr::from(b),
                },
            }
        }),
        (0u8..=0x1f, 0u32..(1 << 24)).prop_map(|(tag, value)| Attr {
            typ: at::TUNNEL_TYPE,
            value: Value::TaggedInteger { tag, value }
        }),
        (
            prop::option::of(0u8..=0x1f),
            prop::collection::vec(0x20u8..=0xff, 1..40)
        )
            .prop_map(|(tag, text)| Attr {
                typ: at::TUNNEL_CLIENT_ENDPOINT,
                value: Value::TaggedText { tag, text }
            }),
        (any::<u16>(), prop::collection::vec(any::<u8>(), 0..64)).prop_map(|(salt, key)| Attr::ms(
            ms::MS_MPPE_SEND_KEY,
            Value::MppeKey {
                salt: salt | 0x8000,
                key
            }
        )),
        any::<[u8; 4]>()
            .prop_map(|a| Attr::ms(ms::MS_SECONDARY_DNS_SERVER, Value::Ipv4(Ipv4Addr::from(a)))),
        (150u8..=199, bytes()).prop_map(|(typ, b)| Attr {
            typ,
            value: Value::Raw(b)
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(buf in prop::collection::vec(any::<u8>(), 0..300)) {
        every_parser(&buf);
    }

    #[test]
    fn packet_shaped_bytes_never_panic(buf in packetish()) {
        every_parser(&buf);
    }

    #[test]
    fn access_request_round_trips(id in any::<u8>(), auth in any::<[u8; 16]>(), attrs in prop::collection::vec(attr_strategy(), 0..12)) {
        let mut p = Packet::new(code::ACCESS_REQUEST, id);
        p.authenticator = auth;
        p.attrs = attrs;
        let wire = p.encode_request(b"secret").unwrap();
        prop_assert_eq!(Packet::decode_request(&wire, b"secret").unwrap(), p);
    }

    #[test]
    fn accept_with_mppe_keys_round_trips(req_auth in any::<[u8; 16]>(), attrs in prop::collection::vec(attr_strategy(), 0..12)) {
        let mut p = Packet::new(code::ACCESS_ACCEPT, 3);
        p.attrs = attrs.into_iter().filter(|a| a.typ != at::USER_PASSWORD).collect();
        p.attrs.push(Attr { typ: at::MESSAGE_AUTHENTICATOR, value: Value::MessageAuthenticator([0; 16]) });
        let wire = p.encode_response(b"secret", &req_auth).unwrap();
        let back = Packet::decode_response(&wire, b"secret", &req_auth).unwrap();
        // The decoder reports the computed Message-Authenticator; compare the rest.
        prop_assert_eq!(&back.attrs[..back.attrs.len() - 1], &p.attrs[..p.attrs.len() - 1]);
    }
}
