package config

import "testing"

func TestExpandEnv(t *testing.T) {
	tests := []struct {
		in, want string
		wantErr  bool
	}{
		{in: "", want: ""},
		{in: "plain", want: "plain"},
		{in: "${GATEWAY_SECRET}", want: "s3cret-0123456789-abcdefghij-s3cret"},
		{in: "a${EMPTY}b", want: "ab"},
		{in: "${STRUCTURE}", want: "a: b\nc: [d]"},
		{in: "${EMPTY}${EMPTY}", want: ""},
		{in: "$${X}", want: "${X}"},
		{in: "a$${X}b${EMPTY}", want: "a${X}b"},
		{in: "$$${EMPTY}", want: "$${EMPTY}"},
		{in: "$", want: "$"},
		{in: "$X $$ {X}", want: "$X $$ {X}"},
		{in: "${_x9}", wantErr: true},
		{in: "${UNSET}", wantErr: true},
		{in: "${}", wantErr: true},
		{in: "${1X}", wantErr: true},
		{in: "${X-Y}", wantErr: true},
		{in: "${X", wantErr: true},
		{in: "${ X }", wantErr: true},
		{in: "x${", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := expandEnv(tt.in, fakeEnv)
			if (err != nil) != tt.wantErr {
				t.Fatalf("got error %v, want error %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestExpandEnvValueNotExpandedAgain(t *testing.T) {
	lookup := func(name string) (string, bool) {
		if name == "A" {
			return "${B}", true
		}
		return "", false
	}
	got, err := expandEnv("${A}", lookup)
	if err != nil || got != "${B}" {
		t.Errorf("got %q, %v, want %q, nil", got, err, "${B}")
	}
}

func TestIsEnvName(t *testing.T) {
	tests := []struct {
		name string
		want bool
	}{
		{"A", true},
		{"_", true},
		{"GATEWAY_SECRET_2", true},
		{"a1", true},
		{"", false},
		{"1A", false},
		{"A-B", false},
		{"A.B", false},
		{"É", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := isEnvName(tt.name); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}
