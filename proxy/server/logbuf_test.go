package server

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/frontgate/gateway/config"
	"github.com/frontgate/gateway/proxy"
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

// TestAuditRecordsAtEveryLevel checks that log.level turns the other records down but
// never an audit record, which is written as level AUDIT.
func TestAuditRecordsAtEveryLevel(t *testing.T) {
	levelRe := regexp.MustCompile(`level=(\w+)|"level":"(\w+)"`)
	for _, tt := range []struct {
		level, format, want string // want: the levels written, in order
	}{
		{"debug", "text", "DEBUG INFO AUDIT WARN ERROR"},
		{"info", "text", "INFO AUDIT WARN ERROR"},
		{"warn", "text", "AUDIT WARN ERROR"},
		{"error", "text", "AUDIT ERROR"},
		{"error", "json", "AUDIT ERROR"},
	} {
		t.Run(tt.level+" "+tt.format, func(t *testing.T) {
			var out syncBuffer
			lg := NewLogger(&out, config.Log{Level: tt.level, Format: tt.format})
			lg.Debug("debug")
			lg.Info("request", "log", "access")
			lg.Log(context.Background(), proxy.LevelAudit, "sign-in", "log", "audit",
				"user", "alice")
			lg.Warn("warn")
			lg.Error("error")
			FlushLog(lg)
			var got []string
			for _, m := range levelRe.FindAllStringSubmatch(out.String(), -1) {
				got = append(got, m[1]+m[2])
			}
			if strings.Join(got, " ") != tt.want {
				t.Errorf("levels written: got %v, want %s; log:\n%s", got, tt.want,
					out.String())
			}
			if !strings.Contains(out.String(), "alice") {
				t.Errorf("the audit record's user is missing:\n%s", out.String())
			}
		})
	}
}
