package main

import (
	"testing"
	"time"
)

const wrkOK = `Running 3s test @ http://127.0.0.1:40001/app/x
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     6.12ms    3.40ms  48.20ms   81.10%
    Req/Sec     5.31k   410.22     6.20k    70.00%
  Latency Distribution
     50%    5.43ms
     75%    7.01ms
     90%    9.76ms
     99%   18.07ms
  31860 requests in 3.00s, 7.17MB read
Requests/sec:  10617.43
Transfer/sec:      2.39MB
`

const wrkErrors = `Running 1s test @ http://127.0.0.1:40001/app/x
  1 threads and 1 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   456.00us  120.00us   2.10ms   90.00%
    Req/Sec     2.10k   100.00     2.30k    80.00%
  Latency Distribution
     50%  420.00us
     75%  500.00us
     90%  610.00us
     99%    1.02s
  2000 requests in 1.00m, 400.00KB read
  Socket errors: connect 0, read 3, write 1, timeout 2
  Non-2xx or 3xx responses: 100
Requests/sec:   2000.00
Transfer/sec:    400.00KB
`

func TestParseWrk(t *testing.T) {
	for _, tt := range []struct {
		name string
		out  string
		want loadResult
	}{
		{"clean", wrkOK, loadResult{requests: 31860, elapsed: 3 * time.Second,
			rate: 10617.43, p50: 5430 * time.Microsecond, p99: 18070 * time.Microsecond}},
		{"errors and units", wrkErrors, loadResult{requests: 1900, errors: 106,
			elapsed: time.Minute, rate: 1900, p50: 420 * time.Microsecond,
			p99: 1020 * time.Millisecond}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseWrk(tt.out)
			if err != nil {
				t.Fatal(err)
			}
			if d := got.rate - tt.want.rate; d > 0.01 || d < -0.01 {
				t.Errorf("rate: got %.2f, want %.2f", got.rate, tt.want.rate)
			}
			got.rate = tt.want.rate
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseWrkRefuses(t *testing.T) {
	for name, out := range map[string]string{
		"empty":      "",
		"no latency": "  10 requests in 1.00s, 1KB read\nRequests/sec:     10.00\n",
		"no rate": "  10 requests in 1.00s, 1KB read\n  Latency Distribution\n" +
			"     50%    1.00ms\n     99%    2.00ms\n",
		"bad unit": "  10 requests in 1.00x, 1KB read\n",
	} {
		if r, err := parseWrk(out); err == nil {
			t.Errorf("%s: got %+v, want an error", name, r)
		}
	}
}

func TestWrkSeconds(t *testing.T) {
	for _, tt := range []struct {
		d    time.Duration
		want int
	}{
		{300 * time.Millisecond, 1}, {time.Second, 1}, {1500 * time.Millisecond, 2},
		{3 * time.Second, 3},
	} {
		if got := wrkSeconds(tt.d); got != tt.want {
			t.Errorf("wrkSeconds(%v): got %d, want %d", tt.d, got, tt.want)
		}
	}
}
