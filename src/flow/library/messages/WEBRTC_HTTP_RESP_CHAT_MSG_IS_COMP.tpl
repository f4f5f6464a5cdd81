HTTP/1.1 204 No Content
Access-Control-Allow-Origin: *
Server: Portico
