HTTP/1.1 201 Created
Access-Control-Allow-Origin: *
Location: http://{webrtc-srv-name}:{http-port}/vvoip/vvoip/v1/{session-id:url}/sessions/{call-id:url}
Server: Portico
Content-Type: application/json
Content-Length: {content-length}
---body---
{"vvoipSessionInformation":{"originatorAddress":"{msisdn1:json}","originatorName":"WebRtc{client-correlator:json}","receiverAddress":"{called-number:json}","receiverName":"{called-number:json}","status":"Initial","clientCorrelator":"{client-correlator:json}","resourceURL":"http://{webrtc-srv-name:json}:{http-port:json}/vvoip/vvoip/v1/{session-id:url:json}/sessions/{call-id:url:json}"}}
