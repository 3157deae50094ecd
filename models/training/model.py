"""The default model: a spectrogram U-Net with a recurrent bottleneck over time.

Input: mixture magnitudes [B, 2, T, F] (F = 1024 bins of a 4096-point STFT, T divisible by 32).
Output: estimated magnitudes per stem [B, S, 2, T, F] = softmax-over-stems masks * input, so the
estimates always sum to the mixture. The engine turns them into Wiener-style ratio masks.
"""
import torch
import torch.nn as nn

STEMS = ['vocals', 'drums', 'bass', 'other']


class Down(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 5, stride=2, padding=2)
        self.bn = nn.BatchNorm2d(cout)
        self.act = nn.LeakyReLU(0.2)

    def forward(self, x):
        return self.act(self.bn(self.conv(x)))


class Up(nn.Module):
    def __init__(self, cin, cout, dropout=0.0):
        super().__init__()
        self.deconv = nn.ConvTranspose2d(cin, cout, 5, stride=2, padding=2, output_padding=1)
        self.bn = nn.BatchNorm2d(cout)
        self.act = nn.ReLU()
        self.drop = nn.Dropout2d(dropout) if dropout else nn.Identity()

    def forward(self, x):
        return self.drop(self.act(self.bn(self.deconv(x))))


class TimeRNN(nn.Module):
    """Bidirectional GRU over time on a channel-reduced bottleneck: context beyond the conv field."""

    def __init__(self, channels, freq, reduced=16, hidden=128):
        super().__init__()
        self.reduce = nn.Conv2d(channels, reduced, 1)
        self.gru = nn.GRU(reduced * freq, hidden, batch_first=True, bidirectional=True)
        self.expand = nn.Linear(2 * hidden, reduced * freq)
        self.out = nn.Conv2d(channels + reduced, channels, 1)
        self.reduced, self.freq = reduced, freq

    def forward(self, x):  # [B, C, T, F]
        b, _, t, f = x.shape
        r = self.reduce(x).permute(0, 2, 1, 3).reshape(b, t, self.reduced * f)
        h, _ = self.gru(r)
        h = self.expand(h).reshape(b, t, self.reduced, f).permute(0, 2, 1, 3)
        return self.out(torch.cat([x, torch.relu(h)], dim=1))


class StemUNet(nn.Module):
    def __init__(self, stems=len(STEMS), channels=(16, 32, 64, 128, 160), bins=1024):
        super().__init__()
        self.stems = stems
        self.input_bn = nn.BatchNorm2d(2)
        chans = [2, *channels]
        self.downs = nn.ModuleList(Down(chans[i], chans[i + 1]) for i in range(len(channels)))
        self.rnn = TimeRNN(channels[-1], bins // 2 ** len(channels))
        ups = []
        for i in range(len(channels) - 1, 0, -1):
            cin = channels[i] if i == len(channels) - 1 else channels[i] * 2
            ups.append(Up(cin, channels[i - 1], dropout=0.2 if i >= len(channels) - 2 else 0.0))
        self.ups = nn.ModuleList(ups)
        self.last = nn.ConvTranspose2d(channels[0] * 2, channels[0], 5, stride=2, padding=2, output_padding=1)
        self.head = nn.Conv2d(channels[0] + 2, stems * 2, 3, padding=1)

    def forward(self, mag):  # [B, 2, T, F]
        x = self.input_bn(torch.log1p(mag))
        skips = []
        h = x
        for d in self.downs:
            h = d(h)
            skips.append(h)
        h = self.rnn(h)
        for i, up in enumerate(self.ups):
            h = up(h if i == 0 else torch.cat([h, skips[-1 - i]], dim=1))
        h = torch.relu(self.last(torch.cat([h, skips[0]], dim=1)))
        logits = self.head(torch.cat([h, x], dim=1))
        b, _, t, f = logits.shape
        masks = torch.softmax(logits.reshape(b, self.stems, 2, t, f), dim=1)
        return masks * mag.unsqueeze(1)


class SpleeterContract(nn.Module):
    """The engine's contract: x [2, splits, frames, bins] -> one [2, splits, frames, bins] per stem."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        y = self.net(x.permute(1, 0, 2, 3))  # [splits, S, 2, T, F]
        return tuple(y[:, s].permute(1, 0, 2, 3) for s in range(self.net.stems))


if __name__ == '__main__':
    m = StemUNet()
    print(sum(p.numel() for p in m.parameters()), 'parameters')
    print(m(torch.rand(1, 2, 256, 1024)).shape)
