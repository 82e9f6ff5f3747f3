package server

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/frontgate/gateway/config"
)

// BenchmarkAccessRecord logs one access record, as the gateway does for every request,
// to a logger made as Run makes it, writing to nothing.
func BenchmarkAccessRecord(b *testing.B) {
	for _, format := range []string{"text", "json"} {
		b.Run(format, func(b *testing.B) {
			lg := NewLogger(io.Discard, config.Log{Level: "info", Format: format})
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				lg.LogAttrs(ctx, slog.LevelInfo, "request",
					slog.String("log", "access"),
					slog.String("method", "GET"),
					slog.String("host", "app.example.com"),
					slog.String("path", "/orders/42"),
					slog.Int("status", 200),
					slog.Int64("bytes", 100),
					slog.Duration("duration", 734*time.Microsecond),
					slog.String("user", "alice"),
					slog.String("route", "app.example.com/"),
					slog.String("client_ip", "192.0.2.7"))
			}
		})
	}
}
