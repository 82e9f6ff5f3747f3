package boltstore_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/frontgate/gateway/authn/session"
	"github.com/frontgate/gateway/authn/session/boltstore"
)

func ExampleOpen() {
	dir, err := os.MkdirTemp("", "gateway")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	store, err := boltstore.Open(filepath.Join(dir, "sessions.db"), boltstore.Options{})
	if err != nil {
		log.Fatal(err) // names the file, and says so if another gateway holds it
	}
	defer store.Close()

	ctx := context.Background()
	now := time.Now()
	s := &session.Session{
		User: "alice", Backend: "file", AuthHash: "digest", CSRFToken: "token",
		Created: now, LastSeen: now, Expires: now.Add(12 * time.Hour),
	}
	if err := store.Put(ctx, "key", s, 30*time.Minute); err != nil {
		log.Fatal(err)
	}
	got, err := store.Get(ctx, "key")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(got.User)

	store.Delete(ctx, "key")
	_, err = store.Get(ctx, "key")
	fmt.Println(errors.Is(err, session.ErrNotFound))
	// Output:
	// alice
	// true
}
