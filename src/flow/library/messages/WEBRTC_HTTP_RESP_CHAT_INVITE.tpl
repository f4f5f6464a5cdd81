HTTP/1.1 201 Created
Access-Control-Allow-Origin: *
Location: http://{webrtc-srv-name}:{http-port}/chat/chat/v1/{session-id:url}/oneToOne/{called-number:url}/{chat-session-id:url}
Server: Portico
Content-Type: application/json
Content-Length: {content-length}
---body---
{"chatSessionInformation":{"originatorAddress":"{msisdn1:json}","originatorName":"Alice{client-correlator:json}","tParticipantAddress":"{called-number:json}","tParticipantName":"Bob{client-correlator:json}","clientCorrelator":"{client-correlator:json}","resourceURL":"http://{webrtc-srv-name:json}:{http-port:json}/chat/chat/v1/{session-id:url:json}/oneToOne/{called-number:url:json}/{chat-session-id:url:json}","status":"Invited","subject":"Hi"}}
