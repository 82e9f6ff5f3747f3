package server

import (
	"strings"
	"testing"
	"time"

	"github.com/frontgate/gateway/config"
)

// TestAccessRecordsBufferedAuditAtOnce checks what NewLogger holds back and what it
// writes at once, and that records come out in the order they were logged.
func TestAccessRecordsBufferedAuditAtOnce(t *testing.T) {
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			var out syncBuffer
			lg := NewLogger(&out, config.Log{Level: "info", Format: format})
			lg.Info("request", "log", "access", "path", "/one")
			if s := out.String(); s != "" {
				t.Fatalf("an access record was written at once: %q", s)
			}
			lg.Info("sign-in", "log", "audit", "user", "alice")
			s := out.String()
			one, audit := strings.Index(s, "/one"), strings.Index(s, "sign-in")
			if one < 0 || audit < 0 || one > audit {
				t.Fatalf("after an audit record, the log is %q; want the access record, "+
					"then the audit record", s)
			}
			// another access record, written out by the timer alone
			lg.Info("request", "log", "access", "path", "/two")
			deadline := time.Now().Add(10 * time.Second)
			for !strings.Contains(out.String(), "/two") {
				if time.Now().After(deadline) {
					t.Fatal("a buffered access record was never written out")
				}
				time.Sleep(20 * time.Millisecond)
			}
			// and one written out by FlushLog
			lg.Info("request", "log", "access", "path", "/three")
			FlushLog(lg)
			if !strings.Contains(out.String(), "/three") {
				t.Error("FlushLog left an access record in the buffer")
			}
			// a record that only mentions access later is no access record
			lg.Warn("odd", "path", "/four", "log", "access")
			if !strings.Contains(out.String(), "/four") {
				t.Error("a record whose first attribute is not log=access was buffered")
			}
		})
	}
}

// TestAccessBufferWrittenWhenFull checks that a burst does not wait for the timer.
func TestAccessBufferWrittenWhenFull(t *testing.T) {
	var out syncBuffer
	lg := NewLogger(&out, config.Log{Level: "info"})
	long := strings.Repeat("x", 1000)
	for range accessBufferSize/1000 + 1 {
		lg.Info("request", "log", "access", "path", long)
	}
	if len(out.String()) < accessBufferSize {
		t.Errorf("after %d bytes of access records, %d were written; want the buffer "+
			"written out when full", accessBufferSize, len(out.String()))
	}
}
