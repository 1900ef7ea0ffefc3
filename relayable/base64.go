package relayable

// b64 maps a byte to its value in the standard base64 alphabet, or to 0xff if
// the byte is not in it.
var b64 = func() (t [256]byte) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for i := range t {
		t[i] = 0xff
	}
	for i := range len(alphabet) {
		t[alphabet[i]] = byte(i)
	}
	return t
}()

// decodeLenient decodes standard base64 the way the reference implementation
// reads signatures (Ruby's Base64.decode64): every byte outside the alphabet
// is skipped, padding is optional, decoding ends at a "=" that pads a group,
// and a trailing partial group yields the bytes it completes. It never fails;
// garbage decodes to garbage, which then does not verify.
func decodeLenient(s string) []byte {
	out := make([]byte, 0, len(s)*3/4+2)
	var group [4]byte
	n := 0
loop:
	for i := range len(s) {
		c := s[i]
		v := b64[c]
		if v == 0xff {
			if c == '=' && n >= 2 {
				break loop
			}
			continue
		}
		group[n] = v
		n++
		if n == 4 {
			out = append(out,
				group[0]<<2|group[1]>>4,
				group[1]<<4|group[2]>>2,
				group[2]<<6|group[3])
			n = 0
		}
	}
	switch n {
	case 2:
		out = append(out, group[0]<<2|group[1]>>4)
	case 3:
		out = append(out, group[0]<<2|group[1]>>4, group[1]<<4|group[2]>>2)
	}
	return out
}
