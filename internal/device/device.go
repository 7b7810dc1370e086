// Package device recognises the browsers and apps people sign in from. A
// client gets an opaque device token on its first request; a device is
// stored, and becomes familiar to an account, when a sign-up or sign-in bound
// to it completes on it.
package device

import (
	"context"
	"time"
)

// Device is one browser or app installation.
type Device struct {
	ID         string
	Realm      string
	TokenHash  []byte
	UserAgent  string
	CreatedAt  time.Time
	LastSeenAt time.Time
	// PasskeyOffer is how far the offer to create a passkey got on this
	// device, and PasskeyOfferAt when it last moved (nil before).
	PasskeyOffer   PasskeyOffer
	PasskeyOfferAt *time.Time
	// Stored reports whether the device has a row in the store (set by
	// Service.Resolve and Service.Remember; not a column).
	Stored bool
}

// Store keeps devices and their familiarity with accounts. Methods take part in
// the transaction carried by ctx.
type Store interface {
	// CreateDevice inserts d unless a device with its id, or with its
	// token hash in its realm, is already stored (then it does nothing).
	CreateDevice(ctx context.Context, d *Device) error
	// DeviceByTokenHash returns the realm's device whose token hashes to h, or
	// ninsho.CodeNotFound.
	DeviceByTokenHash(ctx context.Context, realm string, h []byte) (*Device, error)
	// MarkFamiliar records that a sign-up or sign-in of the account completed
	// on the device at t (insert or update last time).
	MarkFamiliar(ctx context.Context, accountID, deviceID string, t time.Time) error
	// IsFamiliar reports whether the account ever completed a sign-in or
	// sign-up on the device.
	IsFamiliar(ctx context.Context, accountID, deviceID string) (bool, error)
	// SetPasskeyOffer moves the stored device's passkey offer forward to o
	// at t and reports whether it moved: false when the device is already
	// at o or beyond, or is not stored. Of two concurrent calls with the
	// same o, one moves it.
	SetPasskeyOffer(ctx context.Context, deviceID string, o PasskeyOffer, t time.Time) (bool, error)
}

// PasskeyOffer is how far the offer to create a passkey, made once per
// device after a password sign-in, got on a device. It only moves forward.
type PasskeyOffer int

const (
	// PasskeyNotOffered: the device was never offered a passkey.
	PasskeyNotOffered PasskeyOffer = 0
	// PasskeyOffered: the offer was made (the browser was sent to it),
	// whether or not the person answered.
	PasskeyOffered PasskeyOffer = 1
	// PasskeyDeclined: the person answered "not now".
	PasskeyDeclined PasskeyOffer = 2
)

// NetworkStore remembers the networks (/24 IPv4, /48 IPv6) each account
// signed in from. Methods take part in the transaction carried by ctx.
type NetworkStore interface {
	// MarkNetwork records a completed sign-in of the account from prefix at t.
	MarkNetwork(ctx context.Context, realm, accountID, prefix string, t time.Time) error
	// NetworkSeenSince reports whether the account completed a sign-in from
	// prefix at or after since.
	NetworkSeenSince(ctx context.Context, accountID, prefix string, since time.Time) (bool, error)
}
