package store_test

import (
	"fmt"

	"github.com/tiercache/tiercache/l2/store"
)

// A RESP server builds conditional commands on Update; this is SET NX.
func ExampleStore_Update() {
	s, err := store.New(store.Config{MaxBytes: 64 << 20})
	if err != nil {
		panic(err)
	}
	defer s.Close()
	setNX := func(key, value string) bool {
		stored := false
		_, _, err := s.Update([]byte(key), func(old store.Item, exists bool) (store.Item, store.Op) {
			if exists {
				return old, store.Keep
			}
			stored = true
			return store.Item{Value: []byte(value)}, store.Put
		})
		return err == nil && stored
	}
	fmt.Println(setNX("user:1", "alice"), setNX("user:1", "bob"))
	it, _ := s.Get([]byte("user:1"))
	fmt.Println(string(it.Value))
	// Output:
	// true false
	// alice
}

// Versioned writes and deletes from the federation stream are applied with
// SetIfNewer and DeleteVersion; a write older than a delete stays out.
func ExampleStore_DeleteVersion() {
	s, _ := store.New(store.Config{})
	defer s.Close()
	key := []byte("user:1")
	_, _ = s.SetIfNewer(key, store.Item{Value: []byte("v10"), Version: 10})
	fmt.Println(s.DeleteVersion(key, 12))
	applied, _ := s.SetIfNewer(key, store.Item{Value: []byte("v11"), Version: 11})
	fmt.Println(applied, s.Exists(key))
	// Output:
	// true
	// false false
}
