package bench

import "github.com/ninsho/ninsho/internal/loadgen"

// The load generator, the API client and the hash measurement live in
// internal/loadgen, which `ninsho bench` shares; these names keep the
// benchmarks reading as before.
type (
	Op       = loadgen.Op
	Result   = loadgen.Result
	Account  = loadgen.Account
	Reply    = loadgen.Reply
	Flow     = loadgen.Flow
	API      = loadgen.API
	HashRate = loadgen.HashRate
)

// BrowserUA is the User-Agent the load generator sends.
const BrowserUA = loadgen.BrowserUA

var (
	NewClient     = loadgen.NewClient
	NewClientFrom = loadgen.NewClientFrom
	Merge         = loadgen.Merge
	ClosedLoop    = loadgen.ClosedLoop
	OpenLoop      = loadgen.OpenLoop
	Probe         = loadgen.Probe
	MeasureHash   = loadgen.MeasureHash
	SelfCPU       = loadgen.SelfCPU

	quantile       = loadgen.Quantile
	newResult      = loadgen.NewResult
	replyOf        = loadgen.ReplyOf
	forEach        = loadgen.ForEach
	seedIdentifier = loadgen.SeedIdentifier
	seedPassword   = loadgen.SeedPassword
)
