package loadgen

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// Metrics are the figures of a server's /metrics that tell its memory and
// goroutines; a figure the server does not expose is -1.
type Metrics struct {
	ResidentBytes  float64 `json:"process_resident_memory_bytes"`
	HeapInuseBytes float64 `json:"go_memstats_heap_inuse_bytes"`
	HeapAllocBytes float64 `json:"go_memstats_heap_alloc_bytes"`
	SysBytes       float64 `json:"go_memstats_sys_bytes"`
	Goroutines     float64 `json:"go_goroutines"`
}

// ScrapeMetrics reads the Prometheus text at url (with the bearer token when
// not ""), through client.
func ScrapeMetrics(ctx context.Context, client *http.Client, url, token string) (Metrics, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return Metrics{}, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return Metrics{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, resp.Body)
		switch resp.StatusCode {
		case http.StatusUnauthorized:
			return Metrics{}, fmt.Errorf("%s answered 401: give --metrics-token", url)
		case http.StatusNotFound:
			return Metrics{}, fmt.Errorf("%s answered 404: the server serves /metrics elsewhere (metrics.addr) or not at all", url)
		}
		return Metrics{}, fmt.Errorf("%s answered %d", url, resp.StatusCode)
	}
	return ParseMetrics(resp.Body)
}

// ParseMetrics reads the figures of Metrics from Prometheus text.
func ParseMetrics(r io.Reader) (Metrics, error) {
	m := Metrics{ResidentBytes: -1, HeapInuseBytes: -1, HeapAllocBytes: -1, SysBytes: -1, Goroutines: -1}
	into := map[string]*float64{
		"process_resident_memory_bytes": &m.ResidentBytes,
		"go_memstats_heap_inuse_bytes":  &m.HeapInuseBytes,
		"go_memstats_heap_alloc_bytes":  &m.HeapAllocBytes,
		"go_memstats_sys_bytes":         &m.SysBytes,
		"go_goroutines":                 &m.Goroutines,
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	found := 0
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		name, value, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		p := into[name]
		if p == nil {
			continue
		}
		// A sample line may end with a timestamp.
		value, _, _ = strings.Cut(strings.TrimSpace(value), " ")
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			return m, fmt.Errorf("loadgen: malformed metric %s", name)
		}
		*p = v
		found++
	}
	if err := sc.Err(); err != nil {
		return m, err
	}
	if found == 0 {
		return m, fmt.Errorf("loadgen: no memory or goroutine figures in the metrics")
	}
	return m, nil
}
