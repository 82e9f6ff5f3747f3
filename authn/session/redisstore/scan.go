package redisstore

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// node is what a walk over the keys needs of one Redis server: *redis.Client and the
// store's own client both have it.
type node interface {
	Do(ctx context.Context, args ...any) *redis.Cmd
	Pipeline() redis.Pipeliner
}

// scanKeys walks the keys of c that match the SCAN pattern match and, when typ is not
// empty, hold a value of that type, asking count keys a step, and calls fn with the keys
// of each step that found any. SCAN may give a key twice, in two steps.
//
// It sends SCAN as a plain command and reads its answer itself, as the store's other
// commands do, rather than through go-redis's typed SCAN: each typed command brings
// code of its own that a gateway then keeps mapped for the rest of its life.
func scanKeys(ctx context.Context, c node, match, typ string, count int,
	fn func(keys []string) error) error {
	cursor := "0"
	for {
		args := []any{"scan", cursor, "match", match, "count", count}
		if typ != "" {
			args = append(args, "type", typ)
		}
		reply, err := c.Do(ctx, args...).Slice()
		if err != nil {
			return err
		}
		next, keys, err := scanReply(reply)
		if err != nil {
			return err
		}
		if len(keys) > 0 {
			if err := fn(keys); err != nil {
				return err
			}
		}
		if cursor = next; cursor == "0" {
			return nil
		}
	}
}

// scanReply reads the next cursor and the keys out of one SCAN answer.
func scanReply(reply []any) (cursor string, keys []string, err error) {
	if len(reply) != 2 {
		return "", nil, fmt.Errorf("scan: answer of %d items, not 2", len(reply))
	}
	cursor, ok := reply[0].(string)
	if !ok {
		return "", nil, fmt.Errorf("scan: cursor of type %T", reply[0])
	}
	list, ok := reply[1].([]any)
	if !ok {
		return "", nil, fmt.Errorf("scan: keys of type %T", reply[1])
	}
	keys = make([]string, len(list))
	for i, k := range list {
		if keys[i], ok = k.(string); !ok {
			return "", nil, fmt.Errorf("scan: key of type %T", k)
		}
	}
	return cursor, keys, nil
}
