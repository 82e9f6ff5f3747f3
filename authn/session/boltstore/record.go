package boltstore

import (
	"encoding/binary"
	"errors"
	"math"
	"time"

	"github.com/frontgate/gateway/authn/session"
)

// The file holds two buckets. sessions maps a session key to a record: the instant the
// record expires, in Unix nanoseconds as 8 bytes big-endian, followed by the session as
// session.Marshal encodes it. Bolt has no ttl of its own, so the expiry travels with the
// record and every read compares it with the clock.
//
// byUser indexes the sessions of each user, so that listing one user's sessions (to end
// them all when a password changes, say) reads only those. Its keys are the user's name
// prefixed by its length as a uvarint, then the session key; its values are empty. The
// length prefix keeps one user's keys from ever being a prefix of another's ("al" and
// "alice"). The index is written in the same transaction as the record, but a record
// that no longer decodes cannot say which user it belonged to, so an entry may outlive
// its record; readers check every entry against the record it names.
var (
	bucketSessions = []byte("sessions")
	bucketByUser   = []byte("sessions_by_user")
)

// headerLen is the length of a record's expiry header.
const headerLen = 8

// errShortRecord means a value is too short to hold even a record's header.
var errShortRecord = errors.New("decoding session: record shorter than its header")

// expiresAt returns the Unix-nanosecond instant ttl after now, saturating rather than
// wrapping round for a ttl that would overflow, so a very long ttl never reads as
// already expired.
func expiresAt(now time.Time, ttl time.Duration) int64 {
	n := now.UnixNano()
	if ttl > 0 && n > math.MaxInt64-int64(ttl) {
		return math.MaxInt64
	}
	return n + int64(ttl)
}

// encodeRecord returns the record of s, expiring at the Unix-nanosecond instant expires.
func encodeRecord(s *session.Session, expires int64) ([]byte, error) {
	js, err := session.Marshal(s)
	if err != nil {
		return nil, err
	}
	v := make([]byte, headerLen, headerLen+len(js))
	binary.BigEndian.PutUint64(v, uint64(expires))
	return append(v, js...), nil
}

// recordExpires returns the expiry in the header of record v, and false when v is too
// short to have one.
func recordExpires(v []byte) (int64, bool) {
	if len(v) < headerLen {
		return 0, false
	}
	return int64(binary.BigEndian.Uint64(v)), true
}

// live reports whether record v has a header and has not expired at now (Unix
// nanoseconds). A record expires at the instant in its header, as session.Memory does.
func live(v []byte, now int64) bool {
	exp, ok := recordExpires(v)
	return ok && now < exp
}

// decodeRecord returns the session in record v. Anything that is not a whole session is
// an error, never a session. The session shares no memory with v, so it outlives the
// transaction v was read in.
func decodeRecord(v []byte) (*session.Session, error) {
	if len(v) < headerLen {
		return nil, errShortRecord
	}
	return session.Unmarshal(v[headerLen:])
}

// userPrefix returns the prefix of every byUser key of user.
func userPrefix(user string) []byte {
	p := make([]byte, 0, binary.MaxVarintLen64+len(user))
	p = binary.AppendUvarint(p, uint64(len(user)))
	return append(p, user...)
}

// indexKey returns the byUser key that says key holds a session of user.
func indexKey(user string, key []byte) []byte {
	return append(userPrefix(user), key...)
}
