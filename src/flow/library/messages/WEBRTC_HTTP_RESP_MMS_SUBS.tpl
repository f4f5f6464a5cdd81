HTTP/1.1 201 Created
Access-Control-Allow-Origin: *
Location: http://{webrtc-srv-name}:{http-port}/nms/v1/myStore/{session-id:url}/subscriptions/{nms-subscription-id:url}
Server: Portico
Content-Type: application/json
Content-Length: {content-length}
---body---
{"nmsSubscription":{"callbackReference":{"notifyURL":"{callback-url:json}","callbackData":"nms"},"duration":3600,"clientCorrelator":"{client-correlator:json}","resourceURL":"http://{webrtc-srv-name:json}:{http-port:json}/nms/v1/myStore/{session-id:url:json}/subscriptions/{nms-subscription-id:url:json}","index":0,"restartToken":16921}}
