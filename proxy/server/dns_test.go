package server

import (
	"fmt"
	"net"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/miekg/dns"
)

// loopbackDNS is the DNS server that Pebble's validation authority resolves through in
// these tests, so that Pebble never asks the machine's resolver about any name.
//
// Pebble (v2.10.3) sends its queries to a custom resolver over TCP only, and asks AAAA then
// A for the identifier of an HTTP-01 or TLS-ALPN-01 challenge (TXT only for DNS-01; no CAA).
// The server therefore listens on TCP at 127.0.0.1. A query over UDP would find no
// listener and fail the validation, never reach another resolver. It answers:
//   - A for each name it serves with 127.0.0.1, where the gateway under test listens;
//   - any other type (AAAA, CAA, TXT) for those names with NOERROR and no records, so that
//     Pebble dials the IPv4 address;
//   - NXDOMAIN for every other name.
//
// It counts every query by name and type.
type loopbackDNS struct {
	addr  string          // host:port to pass to Pebble
	names map[string]bool // served names, fully qualified and in lower case

	mu      sync.Mutex
	queries map[dnsQuestion]int
}

// dnsQuestion is a name, fully qualified and in lower case, and a query type.
type dnsQuestion struct {
	name  string
	qtype uint16
}

// startLoopbackDNS starts a loopbackDNS that serves names and stops it when the test ends.
func startLoopbackDNS(t *testing.T, names ...string) *loopbackDNS {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("fake DNS: listen: %v", err)
	}
	d := &loopbackDNS{addr: l.Addr().String(), names: map[string]bool{},
		queries: map[dnsQuestion]int{}}
	for _, n := range names {
		d.names[dns.CanonicalName(n)] = true
	}
	started := make(chan struct{})
	srv := &dns.Server{Listener: l, Net: "tcp", Handler: dns.HandlerFunc(d.serveDNS),
		NotifyStartedFunc: func() { close(started) }}
	served := make(chan error, 1)
	go func() { served <- srv.ActivateAndServe() }()
	select {
	case <-started:
	case err := <-served:
		t.Fatalf("fake DNS: serve on %s: %v", d.addr, err)
	}
	t.Cleanup(func() {
		if err := srv.Shutdown(); err != nil {
			t.Errorf("fake DNS: shut down %s: %v", d.addr, err)
		}
		<-served
	})
	return d
}

// serveDNS answers one query as the type's doc comment says and counts its questions.
func (d *loopbackDNS) serveDNS(w dns.ResponseWriter, req *dns.Msg) {
	resp := new(dns.Msg)
	resp.SetReply(req)
	resp.Authoritative = true
	for _, q := range req.Question {
		name := dns.CanonicalName(q.Name)
		d.mu.Lock()
		d.queries[dnsQuestion{name, q.Qtype}]++
		d.mu.Unlock()
		switch {
		case !d.names[name]:
			resp.Rcode = dns.RcodeNameError
		case q.Qtype == dns.TypeA && q.Qclass == dns.ClassINET:
			resp.Answer = append(resp.Answer, &dns.A{
				Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET,
					Ttl: 60},
				A: net.IPv4(127, 0, 0, 1),
			})
		}
	}
	// A failed write leaves the client waiting until its timeout; the test then
	// fails on the validation that did not happen.
	_ = w.WriteMsg(resp)
}

// count reports how many queries of type qtype the server has had for name.
func (d *loopbackDNS) count(name string, qtype uint16) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.queries[dnsQuestion{dns.CanonicalName(name), qtype}]
}

// String lists the queries so far, as "name type×count", sorted.
func (d *loopbackDNS) String() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	var qs []string
	for q, n := range d.queries {
		qs = append(qs, fmt.Sprintf("%s %s×%d", q.name, dns.TypeToString[q.qtype], n))
	}
	sort.Strings(qs)
	return strings.Join(qs, ", ")
}

// checkAsked fails the test unless the server was asked for the address of name, which
// shows that Pebble resolved the name it validated here and not elsewhere.
func (d *loopbackDNS) checkAsked(t *testing.T, name string) {
	t.Helper()
	if d.count(name, dns.TypeA) == 0 {
		t.Errorf("Pebble did not ask the loopback DNS for A %s; queries: [%s]", name, d)
		return
	}
	t.Logf("loopback DNS queries: [%s]", d)
}
