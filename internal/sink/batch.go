package sink

import "sync"

// Batch holds whole encoded records back to back. Ends[i] is the offset just
// past record i, so a writer can always cut between records and never
// inside one.
type Batch struct {
	Data []byte
	Ends []int
}

// EndRecord marks the end of the record just appended to Data.
func (b *Batch) EndRecord() { b.Ends = append(b.Ends, len(b.Data)) }

// Records is the number of complete records in the batch.
func (b *Batch) Records() int { return len(b.Ends) }

// Reset empties the batch, keeping its memory.
func (b *Batch) Reset() {
	b.Data = b.Data[:0]
	b.Ends = b.Ends[:0]
}

// maxPooledBytes keeps an unusually large batch from pinning its memory in
// the pool forever.
const maxPooledBytes = 8 << 20

var batchPool = sync.Pool{New: func() any { return &Batch{Data: make([]byte, 0, 64<<10)} }}

// GetBatch returns an empty batch from a pool.
func GetBatch() *Batch { return batchPool.Get().(*Batch) }

// PutBatch returns b to the pool.
func PutBatch(b *Batch) {
	if cap(b.Data) > maxPooledBytes {
		return
	}
	b.Reset()
	batchPool.Put(b)
}
