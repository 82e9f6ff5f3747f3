package server

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/frontgate/gateway/proxy"
)

// Access records are many and small: writing each at once would put a write system call,
// under a lock every request shares, on every request. They are gathered in a buffer
// that is written out at least every accessFlushDelay, when it reaches accessBufferSize,
// before any other record, and when the gateway stops. Every other record, the audit
// records above all, is written before the call that logs it returns.
const (
	accessFlushDelay = 100 * time.Millisecond
	accessBufferSize = 32 << 10
)

// logSink is where a logger's records go: access records through a buffer, the rest at
// once, all in the order they were logged.
type logSink struct {
	mu    sync.Mutex
	w     io.Writer
	buf   []byte
	timer *time.Timer // pending flush, nil when the buffer is empty
}

func newLogSink(w io.Writer) *logSink { return &logSink{w: w} }

// buffered is the writer of access records.
func (s *logSink) buffered() io.Writer { return bufferedWriter{s} }

// direct is the writer of every other record.
func (s *logSink) direct() io.Writer { return directWriter{s} }

type bufferedWriter struct{ s *logSink }

func (b bufferedWriter) Write(p []byte) (int, error) {
	s := b.s
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buf = append(s.buf, p...)
	if len(s.buf) >= accessBufferSize {
		return len(p), s.flushLocked()
	}
	if s.timer == nil {
		s.timer = time.AfterFunc(accessFlushDelay, func() { s.Flush() })
	}
	return len(p), nil
}

type directWriter struct{ s *logSink }

func (d directWriter) Write(p []byte) (int, error) {
	s := d.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.flushLocked(); err != nil {
		return 0, err
	}
	return s.w.Write(p)
}

// Flush writes out the buffered access records.
func (s *logSink) Flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.flushLocked()
}

func (s *logSink) flushLocked() error {
	if s.timer != nil {
		s.timer.Stop()
		s.timer = nil
	}
	if len(s.buf) == 0 {
		return nil
	}
	_, err := s.w.Write(s.buf)
	if cap(s.buf) > 4*accessBufferSize {
		s.buf = nil // one burst of long records need not be kept
	} else {
		s.buf = s.buf[:0]
	}
	return err
}

// splitHandler sends access records (those whose first attribute is log=access) to one
// handler and everything else to another.
type splitHandler struct {
	access, rest slog.Handler
	sink         *logSink
	level        slog.Level // the lowest level written, audit records aside
}

// Enabled implements slog.Handler: records at the handler's level and above, and audit
// records always.
func (h *splitHandler) Enabled(_ context.Context, l slog.Level) bool {
	return l >= h.level || l == proxy.LevelAudit
}

// Handle implements slog.Handler.
func (h *splitHandler) Handle(ctx context.Context, r slog.Record) error {
	if isAccess(r) {
		return h.access.Handle(ctx, r)
	}
	return h.rest.Handle(ctx, r)
}

func isAccess(r slog.Record) bool {
	access := false
	r.Attrs(func(a slog.Attr) bool {
		access = a.Key == "log" && a.Value.Kind() == slog.KindString &&
			a.Value.String() == "access"
		return false // the first attribute decides
	})
	return access
}

// WithAttrs implements slog.Handler.
func (h *splitHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &splitHandler{access: h.access.WithAttrs(as), rest: h.rest.WithAttrs(as),
		sink: h.sink, level: h.level}
}

// WithGroup implements slog.Handler.
func (h *splitHandler) WithGroup(name string) slog.Handler {
	return &splitHandler{access: h.access.WithGroup(name), rest: h.rest.WithGroup(name),
		sink: h.sink, level: h.level}
}

// FlushLog writes out the access records a logger from NewLogger still buffers. Loggers
// from elsewhere have nothing to flush.
func FlushLog(lg *slog.Logger) {
	if h, ok := lg.Handler().(*splitHandler); ok {
		h.sink.Flush()
	}
}
