# Sourced by tests that need a FreeRADIUS 3.2 server (tests/interop/userspace-radius.sh,
# radius-scaleout.sh, tests/l2tpns-lib.sh,
# tests/vm/e2e/kppp-radius.sh). Needs netns-lib.sh sourced first ($OUT, PIDS, wait_for) and
# $SECRET (the shared secret of the client 127.0.0.1). Works with Debian's freeradius 3.2.1.
#
# Users: alice / "open sesame" (Framed-IP-Address 10.99.7.7, Acct-Interim-Interval 2,
# Class "cls-alice"); bob / "builder" (Session-Timeout 2).
#
# Optional environment: RADIUS_LISTEN (address it listens on, default 127.0.0.1; `*` for
# all), RADIUS_CLIENTS (the NAS addresses allowed, space-separated, default 127.0.0.1),
# RADIUS_USERS (a users file used instead of the two users above), RADIUS_REQUIRE_MA (`no`:
# accept requests without Message-Authenticator, as l2tpns sends them; default yes).

# radius NS NAME AUTH_PORT ACCT_PORT: FreeRADIUS (-X, log $OUT/NAME.log) on NS's loopback,
# PAP, CHAP and MS-CHAPv2 against its users file, accounting to $OUT/NAME/acct/detail.
radius() {
    local ns=$1 name=$2 auth=$3 acct=$4 d=$OUT/$2 listen=${RADIUS_LISTEN:-127.0.0.1} c n=0
    local clients=""
    for c in ${RADIUS_CLIENTS:-127.0.0.1}; do
        n=$((n + 1))
        clients+="client nas$n {
    ipaddr = $c
    secret = $SECRET
    require_message_authenticator = ${RADIUS_REQUIRE_MA:-yes}
}
"
    done
    mkdir -p "$d/log" "$d/run" "$d/acct"
    cat > "$d/radiusd.conf" <<CONF
prefix = /usr
exec_prefix = /usr
sysconfdir = /etc
localstatedir = /var
sbindir = /usr/sbin
logdir = $d/log
raddbdir = $d
radacctdir = $d/acct
name = freeradius
confdir = $d
modconfdir = $d
run_dir = $d/run
db_dir = $d
libdir = /usr/lib/freeradius
pidfile = $d/run/radiusd.pid
max_request_time = 30
cleanup_delay = 5
max_requests = 1024
hostname_lookups = no
log {
    destination = stdout
    auth = yes
}
security {
    allow_core_dumps = no
    max_attributes = 200
    reject_delay = 0
    status_server = no
}
$clients
modules {
    pap {
    }
    chap {
    }
    mschap {
    }
    files {
        filename = $d/users
    }
    detail {
        filename = $d/acct/detail
        escape_filenames = no
        permissions = 0600
        header = "%t"
    }
}
server default {
    listen {
        type = auth
        ipaddr = $listen
        port = $auth
    }
    listen {
        type = acct
        ipaddr = $listen
        port = $acct
    }
    authorize {
        files
        chap
        mschap
        pap
    }
    authenticate {
        Auth-Type PAP {
            pap
        }
        Auth-Type CHAP {
            chap
        }
        Auth-Type MS-CHAP {
            mschap
        }
    }
    preacct {
    }
    accounting {
        detail
    }
    # FreeRADIUS before 3.2.5 adds no Message-Authenticator to its replies unless told to;
    # our client requires one (RFC 3579 §3.2, the Blast-RADIUS fix).
    post-auth {
        update reply {
            Message-Authenticator := 0x00
        }
        Post-Auth-Type REJECT {
            update reply {
                Reply-Message := "go away"
                Message-Authenticator := 0x00
            }
        }
    }
}
CONF
    if [ -n "${RADIUS_USERS:-}" ]; then
        cp "$RADIUS_USERS" "$d/users"
    else
        cat > "$d/users" <<'USERS'
alice Cleartext-Password := "open sesame"
        Framed-IP-Address = 10.99.7.7,
        Acct-Interim-Interval = 2,
        Class = "cls-alice"
bob Cleartext-Password := "builder"
        Session-Timeout = 2
USERS
    fi
    ip netns exec "$ns" freeradius -X -d "$d" >"$OUT/$name.log" 2>&1 &
    PIDS+=($!)
    eval "${name}_PID=$!"
    wait_for 30 "FreeRADIUS $name ready in $ns" grep -q "Ready to process requests" "$OUT/$name.log"
}
