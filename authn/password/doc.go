// Package password parses and verifies the password hashes of an
// Authelia-compatible users file, and generates new argon2id hashes.
//
// # Schemes
//
// [Parse] reads the encodings that Authelia (through github.com/go-crypt/crypt)
// writes, so an existing users file works unchanged:
//
//	argon2id       $argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<key>
//	bcrypt         $2a$<cost>$<salt+key>, and the same with $2b$ or $2y$
//	scrypt         $scrypt$ln=<log2 N>,r=<r>,p=<p>$<salt>$<key>
//	pbkdf2-sha1    $pbkdf2$<iterations>$<salt>$<key> (or $pbkdf2-sha1$...)
//	pbkdf2-sha224  $pbkdf2-sha224$<iterations>$<salt>$<key>
//	pbkdf2-sha256  $pbkdf2-sha256$<iterations>$<salt>$<key>
//	pbkdf2-sha384  $pbkdf2-sha384$<iterations>$<salt>$<key>
//	pbkdf2-sha512  $pbkdf2-sha512$<iterations>$<salt>$<key>
//
// Salts and keys are in standard base64 without padding for argon2id and
// scrypt (as in PHC strings), in bcrypt's own alphabet for bcrypt, and in the
// "adapted base64" of passlib and Authelia for PBKDF2: the standard alphabet
// with '.' in place of '+', without padding. Parameters are decimal, without
// sign or leading zeros, in the order shown.
//
// Everything else is refused with [ErrUnsupported]: argon2i and argon2d, the
// crypt(3) schemes ($1$, $5$, $6$, $y$ yescrypt, ...), $2x$ bcrypt,
// $bcrypt-sha256$, and plaintext passwords, which Authelia's file provider
// accepts for client secrets but we never accept for users.
//
// # Limits
//
// A users file is configuration, but a hash in it chooses how much memory and
// CPU each sign-in costs. So that a mistaken or hostile entry cannot make one
// verification take gigabytes or hours, Parse refuses with [ErrMalformed]
// parameters outside these limits:
//
//	argon2id  m from 8·p KiB to 2 GiB (2097152 KiB), t 1 to 64, p 1 to 255
//	scrypt    ln 1 to 24, r 1 to 32, p 1 to 16, and 128·r·2^ln bytes at most 2 GiB
//	pbkdf2    1 to 10,000,000 iterations
//	bcrypt    cost 4 to 18
//	all       salt 8 to 128 bytes, key 16 to 128 bytes (bcrypt's are fixed)
//
// 2 GiB is the memory of RFC 9106's first recommended argon2id option, which
// Authelia's documentation recommends too. One bcrypt check at cost 18 takes some 20
// seconds of a current server core, and each step above doubles it: at 31, which
// bcrypt itself allows, it takes days. The floors on salt and key length
// keep a truncated entry from matching passwords it was not made from.
//
// Memory-hard schemes allocate their full memory cost on every verification:
// an argon2id hash with m=65536 needs 64 MiB for each sign-in in flight.
// Callers should bound how many verifications run at once.
//
// # Secrets
//
// Passwords longer than [MaxLength] never match, and neither do bcrypt
// passwords longer than the 72 bytes bcrypt can use: no password is ever
// truncated, since a truncated password would also accept every other
// password that shares its first 72 bytes. Errors name the scheme and the
// parameter at fault but never contain the hash, its salt or its key, and
// formatting a parsed hash with fmt prints only its scheme and parameters,
// so neither can leak a password hash into a log.
//
// To make a sign-in for an unknown user cost what one for a known user does,
// verify the password against a hash from [SameCost].
package password
