package password

import (
	"errors"
	"regexp"
	"strings"
	"testing"
)

// cheapArgon2 keeps tests fast: 64 KiB, one pass.
var cheapArgon2 = Argon2Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

var phcArgon2id = regexp.MustCompile(
	`^\$argon2id\$v=19\$m=([0-9]+),t=([0-9]+),p=([0-9]+)\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$`)

func TestGenerate(t *testing.T) {
	tests := []struct {
		name     string
		params   Argon2Params
		password string
	}{
		{"cheap", cheapArgon2, "correct horse battery staple"},
		{"empty password", cheapArgon2, ""},
		{"MaxLength password", cheapArgon2, strings.Repeat("x", MaxLength)},
		{"utf8 password", cheapArgon2, "pässwörd ☃"},
		{"two lanes", Argon2Params{Memory: 64, Time: 2, Threads: 2, SaltLen: 8, KeyLen: 16},
			"password"},
		{"long salt and key", Argon2Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 128,
			KeyLen: 128}, "password"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			encoded, err := Generate(tt.password, tt.params)
			if err != nil {
				t.Fatalf("Generate: %v", err)
			}
			if !phcArgon2id.MatchString(encoded) {
				t.Fatalf("Generate = %q, not a PHC argon2id string", encoded)
			}
			h := mustParse(t, encoded).(*argon2idHash)
			if !h.Verify(tt.password) {
				t.Errorf("Verify(password) = false, want true")
			}
			if h.Verify(tt.password + "x") {
				t.Errorf("Verify(wrong password) = true, want false")
			}
			got := Argon2Params{Memory: h.memory, Time: h.time, Threads: h.threads,
				SaltLen: uint32(len(h.salt)), KeyLen: uint32(len(h.key))}
			if got != tt.params {
				t.Errorf("parsed parameters %+v, want %+v", got, tt.params)
			}
		})
	}
}

func TestGenerateSaltsDiffer(t *testing.T) {
	a, err := Generate("password", cheapArgon2)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Generate("password", cheapArgon2)
	if err != nil {
		t.Fatal(err)
	}
	if a == b {
		t.Errorf("two hashes of one password are equal: the salt is not random")
	}
}

// TestGenerateDefault round-trips DefaultArgon2, the parameters the gateway
// writes: 19 MiB, about 35 ms.
func TestGenerateDefault(t *testing.T) {
	encoded, err := Generate("password", DefaultArgon2)
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	if want := "$argon2id$v=19$m=19456,t=2,p=1$"; !strings.HasPrefix(encoded, want) {
		t.Errorf("Generate = %q, want prefix %q", encoded, want)
	}
	h := mustParse(t, encoded)
	if !h.Verify("password") || h.Verify("passwore") {
		t.Errorf("Verify does not tell the right password from a wrong one")
	}
}

func TestGenerateTooLong(t *testing.T) {
	_, err := Generate(strings.Repeat("x", MaxLength+1), cheapArgon2)
	if !errors.Is(err, ErrTooLong) {
		t.Errorf("Generate(%d bytes): error %v, want ErrTooLong", MaxLength+1, err)
	}
}

func TestArgon2ParamsValidate(t *testing.T) {
	ok := cheapArgon2
	with := func(change func(*Argon2Params)) Argon2Params {
		p := ok
		change(&p)
		return p
	}
	tests := []struct {
		name   string
		params Argon2Params
		valid  bool
	}{
		{"default", DefaultArgon2, true},
		{"cheap", ok, true},
		{"zero value", Argon2Params{}, false},
		{"largest", Argon2Params{Memory: 2 << 20, Time: 64, Threads: 255, SaltLen: 128,
			KeyLen: 128}, true},
		{"memory 8 KiB per lane",
			with(func(p *Argon2Params) { p.Memory, p.Threads = 32, 4 }), true},
		{"memory under 8 KiB per lane",
			with(func(p *Argon2Params) { p.Memory, p.Threads = 31, 4 }), false},
		{"memory over 2 GiB", with(func(p *Argon2Params) { p.Memory = 2<<20 + 1 }), false},
		{"time zero", with(func(p *Argon2Params) { p.Time = 0 }), false},
		{"time 65", with(func(p *Argon2Params) { p.Time = 65 }), false},
		{"threads zero", with(func(p *Argon2Params) { p.Threads = 0 }), false},
		{"salt 7 bytes", with(func(p *Argon2Params) { p.SaltLen = 7 }), false},
		{"salt 129 bytes", with(func(p *Argon2Params) { p.SaltLen = 129 }), false},
		{"key 15 bytes", with(func(p *Argon2Params) { p.KeyLen = 15 }), false},
		{"key 129 bytes", with(func(p *Argon2Params) { p.KeyLen = 129 }), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.params.Validate()
			if got := err == nil; got != tt.valid {
				t.Fatalf("Validate() = %v, want valid %v", err, tt.valid)
			}
			if !tt.valid {
				if _, genErr := Generate("password", tt.params); genErr == nil {
					t.Errorf("Generate accepted parameters Validate refuses")
				}
			}
		})
	}
}
