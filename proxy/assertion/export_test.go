package assertion

// Len returns the number of assertions k holds, for the tests of its bound.
func (k *Cache) Len() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.entries)
}
