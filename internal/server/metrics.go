package server

import (
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics counts requests and their latency by route pattern and status.
type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec

	// cache holds the children per route and status: label lookups hash
	// their values on every call, and the set of pairs is small.
	cache sync.Map // routeStatus -> *child
}

type routeStatus struct {
	route  string
	status int
}

type child struct {
	requests prometheus.Counter
	duration prometheus.Observer
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "ninsho",
			Subsystem: "http",
			Name:      "requests_total",
			Help:      "HTTP requests served, by route pattern and status.",
		}, []string{"route", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "ninsho",
			Subsystem: "http",
			Name:      "request_duration_seconds",
			Help:      "Time to serve an HTTP request, by route pattern and status.",
			Buckets:   []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "status"}),
	}
	m.requests = register(reg, m.requests)
	m.duration = register(reg, m.duration)
	return m
}

// register registers c, or returns the collector already registered under the
// same description (a second server on the same registry shares it).
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		if are, ok := errors.AsType[prometheus.AlreadyRegisteredError](err); ok {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		panic("server: register metrics: " + err.Error())
	}
	return c
}

func (m *metrics) observe(route string, status int, d time.Duration) {
	k := routeStatus{route, status}
	v, ok := m.cache.Load(k)
	if !ok {
		s := strconv.Itoa(status)
		v, _ = m.cache.LoadOrStore(k, &child{
			requests: m.requests.WithLabelValues(route, s),
			duration: m.duration.WithLabelValues(route, s),
		})
	}
	c := v.(*child)
	c.requests.Inc()
	c.duration.Observe(d.Seconds())
}
