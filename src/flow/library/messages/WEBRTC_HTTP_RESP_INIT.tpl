HTTP/1.1 303 See Other
Access-Control-Allow-Origin: *
Location: https://{iam-addr}:{iam-port}/guilogin?client_id=A-X-iGd14-iz0&scope=associated_lines%20TMO_ID_profile%20token_validation%20permission&response_type=code&access_type=OFFLINE&redirect_uri=http%3A%2F%2F{webrtc-srv-name:url}%3A{http-port:url}%2Freg_srv&state=http%3A%2F%2F{webrtc-srv-name:url}%3A{http-port:url}%2Fwrcprohome.html
Server: Portico
Content-Length: {content-length}
